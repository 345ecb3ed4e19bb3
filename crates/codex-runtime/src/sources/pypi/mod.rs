//! The PyPI source: find the runtime wheel on a simple repository index (PEP 503/691).
//!
//! The project page is asked for in its JSON form (`application/vnd.pypi.simple.v1+json`,
//! PEP 691) and read as HTML when the index only speaks that (PEP 503). The index's own sha256
//! of the file is checked against the pin before anything is downloaded. [`list`] is the one
//! reader of an index: the source, `channel update` and `verify-pins` all ask it.

pub mod config;

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;

use crate::fetch::download::{DownloadError, NetworkOptions, with_retries};
use crate::model::digest::Sha256;
use crate::model::env::{self, Env};
pub use crate::model::manifest::normalize;
use crate::model::manifest::{ArtifactKind, Pinned};
use crate::net::{Get, Http, RedactedUrl, join, resolve_href, with_userinfo_of};
use crate::sources::Setting;
use crate::sources::offer::{FailedLookup, LookupError, Offer};
use crate::sources::{Location, url_from_client};
pub use config::PipConfig;

/// The distribution of the runtime wheels.
pub const DISTRIBUTION: &str = "openai-codex-cli-bin";

/// The media type of PEP 691 JSON pages.
pub const JSON: &str = "application/vnd.pypi.simple.v1+json";

/// The largest project page read: pages list every file of every release.
const MAX_PAGE: u64 = 64 * 1024 * 1024;

/// Why the index could not say where the file is.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the index does not list {file}")]
    NotListed { file: String },
    #[error("the index lists {file} with sha256 {listed}")]
    Digest { file: String, listed: Sha256 },
    #[error("the index page is not valid: {reason}")]
    Invalid { reason: String },
    #[error(transparent)]
    Download(#[from] DownloadError),
}

/// Ask `index` where `file` of `distribution` is, and check the digest it lists against
/// `pinned`.
pub fn find(
    http: &Http,
    options: &NetworkOptions,
    index: &str,
    distribution: &str,
    file: &str,
    pinned: Sha256,
) -> Result<Listed, IndexError> {
    pick(&list(http, options, index, distribution)?, file, pinned).cloned()
}

/// `file` among the files of a project page, when the page lists it with the `pinned` digest
/// (or none).
fn pick<'l>(listed: &'l [Listed], file: &str, pinned: Sha256) -> Result<&'l Listed, IndexError> {
    let found =
        listed.iter().find(|f| f.name == file).ok_or_else(|| IndexError::NotListed { file: file.to_owned() })?;
    match found.sha256 {
        Some(sha256) if sha256 != pinned => Err(IndexError::Digest { file: file.to_owned(), listed: sha256 }),
        _ => Ok(found),
    }
}

/// What the PyPI source offers for `pinned`: each pinned wheel where the index lists it with
/// the pinned sha256, or why not. Each distribution's page is read once, and only when a
/// wheel of it is pinned with its sha256; `http` builds the client then.
pub(super) fn offers<'h>(
    index: &str,
    pinned: &Pinned<'_>,
    http: &dyn Fn() -> &'h Http,
    network: &NetworkOptions,
) -> Vec<Offer> {
    let mut offers = Vec::new();
    let mut pages: HashMap<&str, Option<Vec<Listed>>> = HashMap::new();
    for artifact in pinned.pins.artifact_pins() {
        let (ArtifactKind::Wheel, Some(wheel), Some(expected)) =
            (artifact.kind, pinned.pins.artifacts.wheels().find(|w| w.file == artifact.file), artifact.sha256)
        else {
            continue;
        };
        let page = page_url(index, &wheel.distribution);
        let failed = |location: String, error: LookupError| Offer::Failed(FailedLookup { location, error });
        let listed = pages.entry(&wheel.distribution).or_insert_with(|| {
            match list(http(), network, index, &wheel.distribution) {
                Ok(listed) => Some(listed),
                Err(error) => {
                    offers.push(failed(page.to_string(), lookup_error(error, &page, expected)));
                    None
                }
            }
        });
        let Some(listed) = listed else { continue };
        offers.push(match pick(listed, &artifact.file, expected) {
            Ok(found) => Offer::Artifact { location: Location::Url(found.url.clone()), artifact },
            Err(e @ IndexError::NotListed { .. }) => {
                failed(format!("{page} ({})", artifact.file), lookup_error(e, &page, expected))
            }
            Err(e) => failed(page.to_string(), lookup_error(e, &page, expected)),
        });
    }
    offers
}

/// What a failed look at the index at `page` means for a wheel pinned with `expected`.
fn lookup_error(error: IndexError, page: &RedactedUrl, expected: Sha256) -> LookupError {
    match error {
        IndexError::NotListed { .. } => LookupError::NotFound,
        IndexError::Digest { file, listed } => {
            LookupError::Digest { subject: format!("{file} as listed by {page}"), pinned: expected, listed }
        }
        IndexError::Invalid { reason } => LookupError::Invalid { what: "the index page", reason },
        IndexError::Download(e) => LookupError::Download(e),
    }
}

/// The project page of `distribution` on `index`.
pub fn page_url(index: &str, distribution: &str) -> RedactedUrl {
    RedactedUrl::new(join(index, &format!("{}/", normalize(distribution))))
}

/// A file of a project page: its name, where it is (resolved against the page, with the
/// index's credentials on the index's own host) and the sha256 the index lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    pub url: RedactedUrl,
    pub sha256: Option<Sha256>,
}

/// Every file the index lists for `distribution`: the project page asked for as PEP 691
/// JSON, read as PEP 503 HTML when the index only speaks that.
pub fn list(http: &Http, options: &NetworkOptions, index: &str, distribution: &str) -> Result<Vec<Listed>, IndexError> {
    let page = page_url(index, distribution);
    let (url, content_type, body) = with_retries(
        options,
        &page,
        |e: &DownloadError| match e {
            DownloadError::Failed(e) => crate::fetch::download::retry_of(e),
            _ => crate::fetch::download::Retry::Never,
        },
        || {
            let accept = format!("{JSON}, text/html;q=0.1");
            let response = http.request(&page, Get { from: None, accept: Some(&accept) })?;
            let mut body = String::new();
            response
                .body
                .take(MAX_PAGE)
                .read_to_string(&mut body)
                .map_err(|source| crate::fetch::download::TryError::Body { received: body.len() as u64, source })?;
            Ok((response.url, response.content_type, body))
        },
    )?;
    read_page(url.expose(), &content_type, &body)
}

/// The files of a project page read from `page`: links resolve against the page, or against
/// its `<base href>` when an HTML page has one.
fn read_page(page: &str, content_type: &str, body: &str) -> Result<Vec<Listed>, IndexError> {
    // Some mirrors serve the JSON form under a generic content type: the body tells.
    let json = content_type.starts_with(JSON)
        || content_type.starts_with("application/json")
        || body.trim_start().starts_with('{');
    let (base, files) = if json { (None, parse_json(body)?) } else { parse_html(body) };
    let base = base.map(|base| resolve_href(page, &base));
    let base = base.as_deref().unwrap_or(page);
    Ok(files
        .into_iter()
        .map(|(href, name, sha256)| Listed {
            name,
            url: RedactedUrl::new(with_userinfo_of(page, &resolve_href(base, &href))),
            sha256,
        })
        .collect())
}

/// `(href, file name, sha256)` of each file a project page lists.
type Links = Vec<(String, String, Option<Sha256>)>;

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
}

/// `(href, file name, sha256)` of every file of a PEP 691 page.
fn parse_json(body: &str) -> Result<Links, IndexError> {
    let page: JsonPage =
        serde_json::from_str(body).map_err(|e| IndexError::Invalid { reason: format!("not PEP 691 JSON: {e}") })?;
    Ok(page
        .files
        .into_iter()
        .map(|f| {
            let sha = f.hashes.get("sha256").and_then(|h| h.parse().ok());
            (f.url, f.filename, sha)
        })
        .collect())
}

/// The `<base href>` of a PEP 503 page, if it has one, and `(href, file name, sha256)` of each
/// of its `<a href>` links: the name is the last path segment of the link, the digest its
/// `#sha256=` fragment.
///
/// The page is read by an HTML tokenizer, as a browser tokenizes it: tag and attribute names in any
/// case, attribute values quoted or not and with character references decoded, nothing taken
/// from comments, scripts, styles or other attributes; the first `<base href>` counts. A
/// tokenizer builds no tree, so the work and memory stay linear in the page (which [`list`]
/// reads at most [`MAX_PAGE`] of), however the tags nest.
fn parse_html(body: &str) -> (Option<String>, Links) {
    let mut emitter = html5gum::DefaultEmitter::default();
    // Script, style and text-only elements hold text, not tags.
    emitter.naively_switch_states(true);
    let mut base = None;
    let mut files = Vec::new();
    for Ok(token) in html5gum::Tokenizer::new_with_emitter(body, emitter) {
        let html5gum::Token::StartTag(tag) = token else { continue };
        let href = tag.attributes.get(b"href".as_slice());
        let href = href.map(|h| String::from_utf8_lossy(h).trim_matches(|c: char| c.is_ascii_whitespace()).to_owned());
        let Some(href) = href.filter(|h| !h.is_empty()) else { continue };
        match tag.name.as_slice() {
            b"base" if base.is_none() => base = Some(href),
            b"a" => {
                let (link, fragment) = href.split_once('#').unwrap_or((&href, ""));
                let path = &link[..link.find('?').unwrap_or(link.len())];
                let name = path.rsplit('/').next().unwrap_or_default().to_owned();
                let sha = fragment.strip_prefix("sha256=").and_then(|h| h.parse().ok());
                files.push((link.to_owned(), name, sha));
            }
            _ => {}
        }
    }
    (base, files)
}

/// [`index_url`], else the index the pip client itself uses by default, as it reports it (for
/// commands that must not silently miss the wheels: `channel update`, `verify-pins`).
pub fn index_url_or_pip_default(explicit: Option<&str>) -> Option<String> {
    index_url(explicit).or_else(pip_default_index)
}

fn pip_default_index() -> Option<String> {
    let python = if cfg!(windows) { "python" } else { "python3" };
    url_from_client(python, &["-c", "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"])
}

/// The index to use, from (in order) the flag, `CODEX_RUNTIME_PYPI_INDEX`, `PIP_INDEX_URL`,
/// `UV_DEFAULT_INDEX`, `UV_INDEX_URL`, and `index-url` of pip's configuration files (see
/// [`config`]).
pub fn index_url(explicit: Option<&str>) -> Option<String> {
    index_setting(explicit, Env::process()).map(|s| s.value)
}

/// [`index_url`] with the environment `env`, and where it was set.
pub fn index_setting(explicit: Option<&str>, env: &Env) -> Option<Setting> {
    let variables = [env::PYPI_INDEX, env::PIP_INDEX_URL, env::UV_DEFAULT_INDEX, env::UV_INDEX_URL];
    explicit
        .map(|value| Setting { value: value.to_owned(), from: "--pypi-index".into() })
        .or_else(|| {
            variables
                .into_iter()
                .find_map(|name| Some(Setting { value: env.get(name)?.to_owned(), from: name.to_owned() }))
        })
        .or_else(|| PipConfig::load(env).index_url())
}

/// The CA bundle pip trusts: `PIP_CERT`, else `cert` of pip's configuration files (a leading
/// `~` is the home directory, as pip reads it).
pub fn ca_file(env: &Env) -> Option<Setting> {
    let variable =
        env.get(env::PIP_CERT).map(|value| Setting { value: value.to_owned(), from: env::PIP_CERT.to_owned() });
    let setting = variable.or_else(|| PipConfig::load(env).cert())?;
    Some(Setting { value: crate::sources::expand_home(&setting.value, env), ..setting })
}

/// The indexes tried after [`index_setting`]'s, in order, when it does not serve the wheel:
/// `PIP_EXTRA_INDEX_URL`, else `UV_EXTRA_INDEX_URL` (each whitespace-separated; set but empty
/// or blank, none, as pip reads it), else `extra-index-url` of pip's configuration files. As with pip, it
/// does not matter which index serves a file: the wheel must have its pinned sha256 whichever
/// does.
pub fn extra_index_settings(env: &Env) -> Vec<Setting> {
    let from_variable = [env::PIP_EXTRA_INDEX_URL, env::UV_EXTRA_INDEX_URL].into_iter().find_map(|name| {
        let value = env.set(name)?.to_string_lossy().into_owned();
        let urls = value.split_whitespace().map(|url| Setting { value: url.to_owned(), from: name.to_owned() });
        Some(urls.collect::<Vec<_>>())
    });
    from_variable.unwrap_or_else(|| PipConfig::load(env).extra_index_urls())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn names_normalize() {
        assert_eq!(normalize("openai-codex-cli-bin"), "openai-codex-cli-bin");
        assert_eq!(normalize("OpenAI_Codex.._cli-bin"), "openai-codex-cli-bin");
    }

    /// `(href, name, sha256)` of a page's links, the digest as hex.
    fn links(body: &str) -> Vec<(String, String, Option<String>)> {
        parse_html(body).1.into_iter().map(|(href, name, sha)| (href, name, sha.map(|s| s.to_string()))).collect()
    }

    fn link(href: &str, name: &str, sha: Option<&str>) -> (String, String, Option<String>) {
        (href.into(), name.into(), sha.map(str::to_owned))
    }

    #[test]
    fn html_pages_give_links_names_and_digests() {
        let page = format!(
            "<html><body><a href=\"../../files/a-1.whl#sha256={SHA}\" data-requires-python=\"&gt;=3\">a-1.whl</a>\n\
             <a href='https://cdn.test/b-1.whl?x=1&amp;y=2'>b-1.whl</a><a name=x>no link</a></body></html>"
        );
        assert_eq!(
            links(&page),
            [
                link("../../files/a-1.whl", "a-1.whl", Some(SHA)),
                link("https://cdn.test/b-1.whl?x=1&y=2", "b-1.whl", None)
            ]
        );
        assert_eq!(parse_html(&page).0, None);
    }

    #[test]
    fn html_links_resolve_against_the_first_base() {
        let page = format!(
            "<!DOCTYPE html><html><head><base href=\"../../files/\"><base href=\"https://cdn.test/\"></head>\n\
             <body><a href=\"a-1.whl#sha256={SHA}\">a</a> <a href=\"/root/b-1.whl\">b</a>\n\
             <a href=\"https://cdn.test/c-1.whl\">c</a></body></html>"
        );
        let listed = read_page("http://u:p@127.0.0.1:9/simple/x/", "text/html", &page).unwrap();
        let urls: Vec<&str> = listed.iter().map(|l| l.url.expose()).collect();
        assert_eq!(
            urls,
            ["http://u:p@127.0.0.1:9/files/a-1.whl", "http://u:p@127.0.0.1:9/root/b-1.whl", "https://cdn.test/c-1.whl"]
        );
        assert_eq!(listed[0].sha256, Some(SHA.parse().unwrap()));
        // A base on another host takes the links there, without the index's credentials.
        let page = "<base href=\"https://cdn.test/files/\"><a href=\"a-1.whl\">a</a>";
        let listed = read_page("http://u:p@127.0.0.1:9/simple/x/", "text/html", page).unwrap();
        assert_eq!(listed[0].url.expose(), "https://cdn.test/files/a-1.whl");
        // Without a base, links resolve against the page; a JSON page has none.
        let listed = read_page("http://127.0.0.1:9/simple/x/", "text/html", "<a href=a-1.whl>a</a>").unwrap();
        assert_eq!(listed[0].url.expose(), "http://127.0.0.1:9/simple/x/a-1.whl");
    }

    #[test]
    fn html_attributes_are_entity_decoded() {
        let page = "<a href=\"f&#x2F;a-1.whl?x=1&amp;y=2&lt;\">a</a>\
                    <a href=\"b&#47;b-1.whl#sha256&#61;{SHA}\">b</a>\
                    <a href=\"c-1.whl?a=1&copy=2&not;\">c</a>\
                    <base href=\"https://cdn.test/&quot;x&quot;/\">";
        let page = page.replace("{SHA}", SHA);
        assert_eq!(
            links(&page),
            [
                link("f/a-1.whl?x=1&y=2<", "a-1.whl", None),
                link("b/b-1.whl", "b-1.whl", Some(SHA)),
                // In an attribute, `&copy=` stays as written (HTML's rule for query strings).
                link("c-1.whl?a=1&copy=2\u{ac}", "c-1.whl", None),
            ]
        );
        assert_eq!(parse_html(&page).0.as_deref(), Some("https://cdn.test/\"x\"/"));
    }

    #[test]
    fn html_tags_and_attributes_in_any_case() {
        let page =
            format!("<HTML><BASE HREF=\"/files/\"><BODY><A HREF=\"a-1.whl#sha256={SHA}\">a</A><a hReF=b-1.whl>b</a>");
        let (base, _) = parse_html(&page);
        assert_eq!(base.as_deref(), Some("/files/"));
        assert_eq!(links(&page), [link("a-1.whl", "a-1.whl", Some(SHA)), link("b-1.whl", "b-1.whl", None)]);
    }

    #[test]
    fn html_links_in_odd_places() {
        let page = "<a href=before-html.whl>x</a><html><head><a href=in-head.whl></a>\
             <link rel=stylesheet href=style.css><script>document.write('<a href=\"in-script.whl\">')</script>\
             <style>a[href=\"in-style.whl\"] {}</style><title><a href=in-title.whl></title></head>\n\
             <body><!-- <a href=\"in-comment.whl\"> --><table><tr><a href=in-table.whl>t</a></tr></table>\
             <p data-href=\"data.whl\">href=\"in-text.whl\"</p><a data-href=\"data.whl\" href=\"after-data.whl\">\
             <a\nhref\n=\n\"across-lines.whl\"\n>l</a><a href=\"  spaced.whl \">s</a><a href=\"\">empty</a><a href>bare</a>\
             <a href=first.whl href=second.whl>d</a><a/href=slash.whl></body></html><a href=after-html.whl>";
        let names: Vec<String> = links(page).into_iter().map(|(_, name, _)| name).collect();
        assert_eq!(
            names,
            [
                "before-html.whl",
                "in-head.whl",
                "in-table.whl",
                "after-data.whl",
                "across-lines.whl",
                "spaced.whl",
                "first.whl",
                "slash.whl",
                "after-html.whl"
            ]
        );
    }

    /// A hostile page of about 6 MB: 200,000 links, tags nested 50,000 deep and misnested, half a
    /// million stray `<`, a megabyte-long attribute, and a comment that never closes.
    #[test]
    fn a_huge_hostile_page_is_read_in_one_pass() {
        let mut page = "<a href=x.whl>".repeat(200_000);
        page.push_str(&"<div><b><a href=y.whl><i>".repeat(50_000));
        page.push_str(&"</b></a>".repeat(50_000));
        page.push_str(&"<".repeat(500_000));
        page.push_str(&format!("<a href=\"{}.whl\">", "z".repeat(1_000_000)));
        page.push_str("<!--");
        page.push_str(&"<a href=in-comment.whl>".repeat(10_000));
        let (_, files) = parse_html(&page);
        assert_eq!(files.len(), 250_001);
        assert!(files[..250_000].iter().all(|(href, _, _)| href == "x.whl" || href == "y.whl"));
        assert_eq!(files[250_000].1.len(), 1_000_004);
    }

    #[test]
    fn json_pages_give_links_names_and_digests() {
        let page = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"a","files":[{{"filename":"a-1.whl","url":"a-1.whl","hashes":{{"sha256":"{SHA}"}}}},{{"filename":"a-2.whl","url":"/f/a-2.whl","hashes":{{}}}}]}}"#
        );
        let files = parse_json(&page).unwrap();
        assert_eq!(files[0], ("a-1.whl".into(), "a-1.whl".into(), Some(SHA.parse().unwrap())));
        assert_eq!(files[1].2, None);
        assert!(parse_json("<html>").is_err());
    }

    #[test]
    fn same_host_file_urls_keep_the_index_credentials() {
        let page = "http://u:p@127.0.0.1:9/simple/x/";
        assert_eq!(with_userinfo_of(page, "http://127.0.0.1:9/f/a.whl"), "http://u:p@127.0.0.1:9/f/a.whl");
        assert_eq!(with_userinfo_of(page, "http://127.0.0.1:10/f/a.whl"), "http://127.0.0.1:10/f/a.whl");
        assert_eq!(with_userinfo_of(page, "http://u:p@127.0.0.1:9/f/a.whl"), "http://u:p@127.0.0.1:9/f/a.whl");
        assert_eq!(with_userinfo_of("http://127.0.0.1:9/s/", "http://127.0.0.1:9/f"), "http://127.0.0.1:9/f");
    }
}

//! Small browser helpers: local storage, the URL fragment, downloads, time.

use gloo::storage::{LocalStorage, Storage};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    // web-sys has it only behind its unstable APIs.
    #[wasm_bindgen(js_name = CompressionStream)]
    type CompressionStream;
    #[wasm_bindgen(constructor, js_class = "CompressionStream", catch)]
    fn new(format: &str) -> Result<CompressionStream, wasm_bindgen::JsValue>;
}

pub const STATE_KEY: &str = "iptplay.state.v1";
pub const THEME_KEY: &str = "iptplay.theme";

/// A stored string.
pub fn load(key: &str) -> Option<String> {
    LocalStorage::raw().get_item(key).ok().flatten()
}

/// Stores a string; `false` when the browser refuses (quota, privacy mode).
pub fn store(key: &str, value: &str) -> bool {
    LocalStorage::raw().set_item(key, value).is_ok()
}

pub fn forget(key: &str) {
    let _ = LocalStorage::raw().remove_item(key);
}

/// The URL fragment with its `#`, or "".
pub fn fragment() -> String {
    gloo::utils::window().location().hash().unwrap_or_default()
}

/// Replaces the URL fragment without a new history entry ("" removes it).
pub fn set_fragment(frag: &str) {
    let w = gloo::utils::window();
    let loc = w.location();
    let base = format!(
        "{}{}",
        loc.pathname().unwrap_or_else(|_| "/".into()),
        loc.search().unwrap_or_default()
    );
    let url = if frag.is_empty() {
        base
    } else {
        format!("{base}#{frag}")
    };
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The page address without the fragment.
pub fn page_url() -> String {
    let href = gloo::utils::window().location().href().unwrap_or_default();
    href.split('#').next().unwrap_or("").to_string()
}

/// Offers bytes as a file download.
pub fn download(name: &str, mime: &str, bytes: &[u8]) {
    let arr = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&arr);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let doc = gloo::utils::document();
    if let Ok(a) = doc.create_element("a") {
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Milliseconds since the page started.
pub fn now_ms() -> f64 {
    gloo::utils::window()
        .performance()
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Sets `data-theme` on the document and remembers it.
pub fn set_theme(theme: &str) {
    if let Some(el) = gloo::utils::document().document_element() {
        let _ = el.set_attribute("data-theme", theme);
    }
    store(THEME_KEY, theme);
}

pub fn theme() -> String {
    gloo::utils::document()
        .document_element()
        .and_then(|e| e.get_attribute("data-theme"))
        .unwrap_or_else(|| "light".into())
}

/// Marks something on `<body>` for tests and tools (`data-NAME`).
pub fn mark_body(name: &str, value: &str) {
    let _ = gloo::utils::body().set_attribute(&format!("data-{name}"), value);
}

/// What a rejected browser call says (a TypeError's message, say).
fn why(e: wasm_bindgen::JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e
            .as_string()
            .unwrap_or_else(|| "the browser refused".to_string()),
    }
}

/// Raw DEFLATE of `data` by the browser (`CompressionStream("deflate-raw")`).
pub async fn deflate_raw(data: &[u8]) -> Result<Vec<u8>, String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(data));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(why)?;
    let compressor = CompressionStream::new("deflate-raw").map_err(why)?;
    let packed = blob
        .stream()
        .pipe_through(compressor.unchecked_ref::<web_sys::ReadableWritablePair>());
    let resp = web_sys::Response::new_with_opt_readable_stream(Some(&packed)).map_err(why)?;
    let buf = wasm_bindgen_futures::JsFuture::from(resp.array_buffer().map_err(why)?)
        .await
        .map_err(why)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// The text of a file served beside the page (a relative URL), or why not.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    // A rejected fetch() gives a TypeError ("Failed to fetch"): say its message.
    let resp = wasm_bindgen_futures::JsFuture::from(gloo::utils::window().fetch_with_str(url))
        .await
        .map_err(why)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(why)?;
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(why)?)
        .await
        .map_err(why)?;
    text.as_string().ok_or_else(|| "not text".to_string())
}

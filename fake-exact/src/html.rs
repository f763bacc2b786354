//! The fake's few HTML (and XML) bits: escaping and a shared page frame.
//!
//! Hand-written rather than templated: three small pages do not earn a template directory, and
//! every interpolated value goes through [`escape`].

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// Escapes text for HTML and XML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

// No external resources and no script: the page must work offline and under any CSP.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f2f4f7;color:#1d2939;margin:0}\
header{background:#e4032e;color:#fff;padding:14px 24px;font-weight:600;letter-spacing:.02em}\
main{max-width:460px;margin:48px auto;background:#fff;border-radius:10px;padding:28px 32px;\
box-shadow:0 2px 12px rgba(16,24,40,.12)}\
h1{font-size:1.3rem;margin:0 0 16px}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:16px 0 24px}\
dt{color:#667085}dd{margin:0;word-break:break-all}\
.actions{display:flex;gap:12px}\
button{flex:1;font-size:1rem;padding:10px 0;border-radius:6px;border:1px solid #d0d5dd;cursor:pointer;background:#fff}\
button.allow{background:#e4032e;border-color:#e4032e;color:#fff}\
p.note{color:#667085;font-size:.85rem;margin-top:20px}\
p.error{color:#b42318}";

/// Wraps `body` (already escaped HTML) in the fake's page frame.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><header>Exact Online (fake)</header><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// An error page like the one Exact shows instead of redirecting to an untrusted callback.
pub(super) fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>Something went wrong</h1><p class=\"error\">{}</p>",
        escape(message)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page("Exact Online (fake) - error", &body))
}

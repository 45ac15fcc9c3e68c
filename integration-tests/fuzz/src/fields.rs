//! A fuzz input as NUL-separated fields: NUL never occurs in a query string, a form body, a
//! header or JSON text, so real requests make readable seeds (`query\0body\0content-type`).

/// The `index`-th NUL-separated field of `data`, empty when there are fewer.
pub fn field(data: &[u8], index: usize) -> &[u8] {
    data.split(|byte| *byte == 0).nth(index).unwrap_or_default()
}

/// The field as text, invalid UTF-8 replaced (an HTTP front end only hands on text).
pub fn text_field(data: &[u8], index: usize) -> String {
    String::from_utf8_lossy(field(data, index)).into_owned()
}

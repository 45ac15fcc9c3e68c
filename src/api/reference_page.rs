//! `GET /docs`: the OpenAPI document rendered as one self-contained HTML page (no script, no
//! stylesheet or font from elsewhere, so it works where the exchange has no internet): every
//! path and method with its summary, security, parameters, request body and responses, then
//! every schema with its fields. It reads the document as JSON, the same value
//! `GET /openapi.json` serves.

use std::fmt::Write as _;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const STYLE: &str = "body{font-family:sans-serif;max-width:72em;margin:auto;padding:1em;\
    line-height:1.4}h3{border-top:1px solid #ccc;padding-top:1em}code,.method{font-family:\
    monospace}.method{font-weight:bold;text-transform:uppercase}table{border-collapse:collapse;\
    margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;\
    vertical-align:top}.text{white-space:pre-line}";

/// The page for `document` (an OpenAPI 3 document as JSON).
pub fn render(document: &Value) -> String {
    let info = &document["info"];
    let title = text(&info["title"]);
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\n\
         <h1>{title} API reference</h1>\n<p class=\"text\">{}</p>\n\
         <p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {}).</p>\n",
        text(&info["description"]),
        text(&document["openapi"]),
    );
    security_schemes(&mut page, &document["components"]["securitySchemes"]);
    let operations = operations(document);
    page.push_str("<h2>Routes</h2>\n<ul>\n");
    for (path, method, operation) in &operations {
        let _ = writeln!(
            page,
            "<li><a href=\"#{}\"><span class=\"method\">{method}</span> <code>{}</code></a> {}</li>",
            anchor(method, path),
            escape(path),
            text(&operation["summary"]),
        );
    }
    page.push_str("</ul>\n");
    for (path, method, operation) in &operations {
        render_operation(&mut page, path, method, operation);
    }
    render_schemas(&mut page, &document["components"]["schemas"]);
    page.push_str("</body></html>\n");
    page
}

/// Every operation of the document: (path, method, operation), by path then method.
fn operations(document: &Value) -> Vec<(&str, &'static str, &Value)> {
    let Some(paths) = document["paths"].as_object() else { return Vec::new() };
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((path.as_str(), method, operation));
            }
        }
    }
    operations
}

fn security_schemes(page: &mut String, schemes: &Value) {
    let Some(schemes) = schemes.as_object() else { return };
    page.push_str(
        "<h2>Authentication</h2>\n<table><tr><th>scheme</th><th>sent as</th>\
                   <th>what it is</th></tr>\n",
    );
    for (name, scheme) in schemes {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td><code>{}</code> ({})</td><td>{}</td></tr>",
            escape(name),
            text(&scheme["name"]),
            text(&scheme["in"]),
            text(&scheme["description"]),
        );
    }
    page.push_str("</table>\n");
}

fn render_operation(page: &mut String, path: &str, method: &str, operation: &Value) {
    let _ = writeln!(
        page,
        "<h3 id=\"{}\"><span class=\"method\">{method}</span> <code>{}</code></h3>\n\
         <p><b>{}</b></p>\n<p class=\"text\">{}</p>",
        anchor(method, path),
        escape(path),
        text(&operation["summary"]),
        text(&operation["description"]),
    );
    if let Some(requirements) = operation["security"].as_array() {
        let names: Vec<String> = requirements
            .iter()
            .filter_map(Value::as_object)
            .map(|requirement| {
                requirement.keys().map(|name| escape(name)).collect::<Vec<_>>().join(" + ")
            })
            .collect();
        let _ = writeln!(page, "<p>Security: {}</p>", names.join(" or "));
    }
    if let Some(parameters) = operation["parameters"].as_array() {
        page.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>\
                       <th>meaning</th></tr>\n",
        );
        for parameter in parameters {
            let required = parameter["required"].as_bool().unwrap_or(false);
            let _ = writeln!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"text\">{}</td></tr>",
                text(&parameter["name"]),
                text(&parameter["in"]),
                schema_name(&parameter["schema"]),
                if required { "yes" } else { "no" },
                text(&parameter["description"]),
            );
        }
        page.push_str("</table>\n");
    }
    let body = &operation["requestBody"];
    if body.is_object() {
        let _ = writeln!(page, "<p>Request body: {}</p>", contents(&body["content"]));
        if body["description"].is_string() {
            let _ = writeln!(page, "<p class=\"text\">{}</p>", text(&body["description"]));
        }
    }
    if let Some(responses) = operation["responses"].as_object() {
        page.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>\n");
        for (status, response) in responses {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td></tr>",
                escape(status),
                text(&response["description"]),
                contents(&response["content"]),
            );
        }
        page.push_str("</table>\n");
    }
}

/// Each content type of a body with its schema.
fn contents(content: &Value) -> String {
    let Some(content) = content.as_object() else { return String::new() };
    let entries: Vec<String> = content
        .iter()
        .map(|(media_type, media)| {
            format!("<code>{}</code> {}", escape(media_type), schema_name(&media["schema"]))
        })
        .collect();
    entries.join("<br>")
}

fn render_schemas(page: &mut String, schemas: &Value) {
    let Some(schemas) = schemas.as_object() else { return };
    page.push_str("<h2>Schemas</h2>\n");
    for (name, schema) in schemas {
        let _ = writeln!(
            page,
            "<h3 id=\"schema-{0}\"><code>{0}</code></h3>\n<p class=\"text\">{1}</p>",
            escape(name),
            text(&schema["description"]),
        );
        render_fields(page, schema);
    }
}

/// A schema's fields (an object's properties; each alternative of a oneOf or allOf).
fn render_fields(page: &mut String, schema: &Value) {
    for combinator in ["oneOf", "allOf", "anyOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let names: Vec<String> = parts.iter().map(schema_name).collect();
            let _ = writeln!(page, "<p>{combinator}: {}</p>", names.join(", "));
            for part in parts.iter().filter(|part| part.get("$ref").is_none()) {
                render_fields(page, part);
            }
        }
    }
    let Some(properties) = schema["properties"].as_object() else {
        // Not an object with fields (a tuple, a list, a plain value): its type says it all.
        if !["oneOf", "allOf", "anyOf"].iter().any(|combinator| schema[*combinator].is_array()) {
            let _ = writeln!(page, "<p>Type: {}</p>", schema_name(schema));
        }
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    page.push_str("<table><tr><th>field</th><th>type</th><th>required</th><th>meaning</th></tr>\n");
    for (field, property) in properties {
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            escape(field),
            schema_name(property),
            if required.contains(&field.as_str()) { "yes" } else { "no" },
            text(&property["description"]),
        );
    }
    page.push_str("</table>\n");
}

/// A schema in a few words: a link to a named schema, `array of ...`, or its type.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = escape(reference.rsplit('/').next().unwrap_or(reference));
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    for combinator in ["oneOf", "allOf", "anyOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let names: Vec<String> = parts.iter().map(schema_name).collect();
            return names.join(if combinator == "oneOf" { " or " } else { " and " });
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().map(text).collect::<Vec<_>>().join(" or "),
        kind => text(kind),
    };
    let kind = match schema["prefixItems"].as_array() {
        Some(positions) => {
            let positions: Vec<String> = positions
                .iter()
                .map(|position| {
                    format!("{} ({})", schema_name(position), text(&position["description"]))
                })
                .collect();
            format!("array [{}]", positions.join(", "))
        }
        None if kind.starts_with("array") => format!("array of {}", schema_name(&schema["items"])),
        None => kind,
    };
    match schema["enum"].as_array() {
        Some(values) => {
            let values: Vec<String> =
                values.iter().map(|value| escape(&value.to_string())).collect();
            format!("{kind}: {}", values.join(", "))
        }
        None => kind,
    }
}

/// An element id for an operation (`get-api-v3-order`).
fn anchor(method: &str, path: &str) -> String {
    let slug: String =
        path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("{method}{slug}")
}

/// A JSON string's text, escaped; empty for anything else.
fn text(value: &Value) -> String {
    value.as_str().map(escape).unwrap_or_default()
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_each_operation_with_its_parameters_and_escapes_text() {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "description": "a <b> & c"},
            "paths": {"/x": {
                "get": {"summary": "read x", "parameters": [
                    {"name": "symbol", "in": "query", "required": true, "schema": {"type": "string"}}
                ], "responses": {"200": {"description": "ok", "content": {"application/json":
                    {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/X"}}}}}}},
                "delete": {"summary": "drop x", "responses": {}}
            }},
            "components": {"schemas": {"X": {"type": "object",
                "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                "Pair": {"type": "array", "items": false, "prefixItems": [
                    {"type": "integer", "description": "time"},
                    {"type": "string", "description": "price"}]}}}
        });
        let page = render(&document);
        assert!(page.contains("a &lt;b&gt; &amp; c"), "{page}");
        assert!(page.contains("id=\"get-x\""), "{page}");
        assert!(page.contains("id=\"delete-x\""), "{page}");
        assert!(page.contains("<code>symbol</code></td><td>query</td><td>string</td><td>yes"));
        assert!(page.contains("array of <a href=\"#schema-X\">X</a>"), "{page}");
        assert!(page.contains("id=\"schema-X\""), "{page}");
        assert!(page.contains("Type: array [integer (time), string (price)]"), "{page}");
        assert!(!page.contains("<script"), "no script: the page must work offline");
    }
}

//! A plugin's SCHEMA (PROVIDERS.md) as kind schemas, and the schema cache:
//! `.orch/schemas/NAME.json` beside the root module, with the sha256 of the
//! plugin file it came from, so that `orchc check` and the language server
//! know plugin kinds without starting anything.

use std::path::{Path, PathBuf};

use orch_lang::FileId;
use orch_lang::ast::{ItemKind, TypeExpr, TypeExprKind};
use orch_providers::plugins::{LoadedSchema, intern};
use orch_stdlib::kinds::{FieldDisplay, FieldSchema, KindSchema};
use orch_stdlib::{FieldTy, Ty};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use smol_str::SmolStr;

/// What `.orch/schemas/NAME.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The provider's name.
    pub provider: String,
    /// The sha256 (hex) of the plugin file the schema came from.
    pub sha256: String,
    /// The plugin file, as resolved when the schema was fetched.
    pub plugin: String,
    /// The protocol version the plugin answered with.
    pub protocol: u64,
    /// The SCHEMA exactly as the plugin sent it.
    pub schema: Json,
}

/// The cache file of provider `name` for the root module's folder.
pub fn cache_path(base_dir: &Path, name: &str) -> PathBuf {
    base_dir.join(".orch").join("schemas").join(format!("{name}.json"))
}

/// Reads a cache entry; `Ok(None)` when there is none.
pub fn read_cache(base_dir: &Path, name: &str) -> Result<Option<CacheEntry>, String> {
    let path = cache_path(base_dir, name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("{}: {error}", path.display())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a cache entry (atomically: a temporary file, then a rename).
pub fn write_cache(base_dir: &Path, entry: &CacheEntry) -> Result<PathBuf, String> {
    let path = cache_path(base_dir, &entry.provider);
    let folder = path.parent().expect("a cache file has a folder");
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let text = serde_json::to_string_pretty(entry).expect("a cache entry is JSON");
    let temporary = folder.join(format!(".{}.json.{}", entry.provider, std::process::id()));
    std::fs::write(&temporary, text + "\n").map_err(|e| format!("{}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The sha256 (hex) of a file.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let digest = Sha256::digest(&bytes);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Converts a SCHEMA for provider `name`.
pub fn convert(name: &str, schema: &Json) -> Result<LoadedSchema, String> {
    let Json::Object(top) = schema else { return Err("the schema is not a JSON object".into()) };
    let provider_fields = match top.get("provider") {
        None | Some(Json::Null) => Vec::new(),
        Some(record) => fields(record.get("fields"), &format!("provider.{name}"))?,
    };
    let provider = KindSchema::resource(
        intern(name),
        intern(&format!("The settings of the plugin provider `{name}`.")),
        provider_fields,
    );
    let mut kinds = Vec::new();
    for (section, data) in [("resources", false), ("data", true)] {
        let Some(entries) = top.get(section) else { continue };
        let Json::Object(entries) = entries else {
            return Err(format!("`{section}` is not an object"));
        };
        for (kind, body) in entries {
            if !is_identifier(kind) {
                return Err(format!("the kind name `{kind}` is not an identifier"));
            }
            let full = format!("{name}.{kind}");
            let doc = body.get("doc").and_then(Json::as_str).unwrap_or_default();
            let fields = fields(body.get("fields"), &full)?;
            let make = if data { KindSchema::data } else { KindSchema::resource };
            kinds.push(make(intern(&full), intern(doc), fields));
        }
    }
    kinds.sort_by_key(|k| k.name);
    Ok(LoadedSchema { provider, kinds })
}

fn fields(fields: Option<&Json>, owner: &str) -> Result<Vec<FieldSchema>, String> {
    let Some(fields) = fields else { return Ok(Vec::new()) };
    let Json::Object(fields) = fields else {
        return Err(format!("the fields of `{owner}` are not an object"));
    };
    let mut out = Vec::new();
    for (name, field) in fields {
        if !is_identifier(name) {
            return Err(format!("the field name `{name}` of `{owner}` is not an identifier"));
        }
        let Json::Object(field) = field else {
            return Err(format!("the field `{owner}.{name}` is not an object"));
        };
        let flag = |key: &str| field.get(key).and_then(Json::as_bool).unwrap_or(false);
        let type_text = field
            .get("type")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("the field `{owner}.{name}` has no `type` string"))?;
        let ty = parse_type(type_text)
            .map_err(|e| format!("the type of `{owner}.{name}`, `{type_text}`: {e}"))?;
        let default = match field.get("default") {
            None | Some(Json::Null) => None,
            Some(value) => Some(
                super::wire::decode(value, Some(&ty))
                    .map_err(|e| format!("the default of `{owner}.{name}`: {e}"))?,
            ),
        };
        let output = flag("output");
        out.push(FieldSchema {
            name: intern(name),
            ty,
            doc: intern(field.get("doc").and_then(Json::as_str).unwrap_or_default()),
            required: flag("required") && !output && default.is_none(),
            default,
            output,
            forces_replacement: flag("replace"),
            sensitive: flag("sensitive"),
            keeps_secrets: false,
            display: FieldDisplay::Plain,
        });
    }
    // Inputs first, required ones leading, as the built-in kinds list them.
    out.sort_by_key(|f| (f.output, !f.required));
    Ok(out)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A type in Orch syntax (`"map<int>"`, `"{ a: string, b?: int }"`,
/// `"\"gzip\" | \"none\""`), parsed by the language's own parser.
pub fn parse_type(text: &str) -> Result<Ty, String> {
    let source = format!("type T = {text}\n");
    let parsed = orch_lang::parse(FileId(0), &source);
    if let Some(diagnostic) = parsed.diagnostics.first() {
        return Err(diagnostic.message.clone());
    }
    let [item] = parsed.file.items.as_slice() else { return Err("not one type".into()) };
    let ItemKind::TypeAlias(alias) = &item.kind else { return Err("not a type".into()) };
    convert_type(&alias.ty)
}

fn convert_type(ty: &TypeExpr) -> Result<Ty, String> {
    Ok(match &ty.kind {
        TypeExprKind::Named(path) => match path.to_dotted().as_str() {
            "string" => Ty::String,
            "int" => Ty::Int,
            "float" => Ty::Float,
            "bool" => Ty::Bool,
            "duration" => Ty::Duration,
            "any" => Ty::Any,
            other => return Err(format!("unknown type `{other}`")),
        },
        TypeExprKind::Generic { name, args } => {
            let [arg] = args.as_slice() else {
                return Err(format!("`{}` takes one type argument", name.to_dotted()));
            };
            let inner = convert_type(arg)?;
            match name.to_dotted().as_str() {
                "list" => Ty::list(inner),
                "map" => Ty::map(inner),
                "secret" => Ty::secret(inner),
                other => return Err(format!("unknown generic type `{other}`")),
            }
        }
        TypeExprKind::Record(fields) => Ty::record(
            None,
            fields
                .iter()
                .map(|f| {
                    Ok(FieldTy {
                        name: f.name.name.clone(),
                        ty: convert_type(&f.ty)?,
                        optional: f.optional,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        TypeExprKind::Optional(inner) => Ty::optional(convert_type(inner)?),
        TypeExprKind::Paren(inner) => convert_type(inner)?,
        TypeExprKind::Literal(text) => Ty::Enum(vec![SmolStr::new(text)].into()),
        TypeExprKind::Union(members) => {
            let mut names: Vec<SmolStr> = Vec::new();
            for member in members {
                match convert_type(member)? {
                    Ty::Enum(items) => names.extend(items.iter().cloned()),
                    other => {
                        return Err(format!(
                            "a union may only list string literals, found `{other}`"
                        ));
                    }
                }
            }
            Ty::Enum(names.into())
        }
        TypeExprKind::Error => return Err("not a type".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_in_orch_syntax() {
        assert_eq!(parse_type("map<int>").unwrap(), Ty::map(Ty::Int));
        assert_eq!(parse_type("\"gzip\" | \"none\"").unwrap().to_string(), "\"gzip\" | \"none\"");
        let record = parse_type("{ a: string, b?: int }").unwrap();
        assert!(matches!(record, Ty::Record(_)));
        assert!(parse_type("strin").is_err());
        assert!(parse_type("list<").is_err());
    }

    #[test]
    fn a_schema_converts() {
        let schema = serde_json::json!({
            "provider": {"fields": {"endpoint": {"type": "string", "required": true}}},
            "resources": {"bucket": {"doc": "A bucket.", "fields": {
                "name": {"type": "string", "required": true, "replace": true},
                "id": {"type": "string", "output": true},
                "token": {"type": "string", "sensitive": true}
            }}},
            "data": {"bucket_info": {"fields": {"name": {"type": "string", "required": true}}}}
        });
        let loaded = convert("acme", &schema).unwrap();
        assert_eq!(loaded.kinds.len(), 2);
        let bucket = loaded.kinds.iter().find(|k| k.name == "acme.bucket").unwrap();
        assert!(!bucket.data);
        assert!(bucket.field("name").unwrap().forces_replacement);
        assert!(bucket.field("id").unwrap().output);
        assert!(bucket.field("token").unwrap().sensitive);
        assert!(loaded.kinds.iter().any(|k| k.name == "acme.bucket_info" && k.data));
        assert!(loaded.provider.field("endpoint").unwrap().required);
    }
}

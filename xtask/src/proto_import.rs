//! `cargo xtask proto-import PATH`: take a new `WAProto.proto` (from the Baileys npm package) into
//! `proto/WAProto.proto` and record where it came from in `proto/README.md`.
//!
//! The schema is kept byte-for-byte as shipped except for this normalisation:
//! - a leading UTF-8 byte-order mark is removed;
//! - CRLF / CR line endings become LF;
//! - trailing whitespace at line ends is removed;
//! - the file ends with exactly one newline;
//! - every enum whose first value is not 0 gets a first value `<ENUM_NAME>_UNSET = 0;` (the
//!   Baileys file says proto3 but keeps some proto2-era enums without a zero value; proto3
//!   compilers, protox included, refuse those). prost stores enum fields as `i32`, so this changes
//!   nothing on the wire: it only gives 0 a name.
//!
//! The import refuses a file that is not proto3 `package proto;`, that has no
//! `/// WhatsApp Version:` line, or that does not compile (checked with protox).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::workspace_root;

/// Marker lines delimiting the part of `proto/README.md` this command rewrites.
const BEGIN: &str =
    "<!-- proto-import:begin (written by `cargo xtask proto-import`; do not edit) -->";
/// See [`BEGIN`].
const END: &str = "<!-- proto-import:end -->";

/// Where the imported schema came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Provenance {
    /// WhatsApp Web version from the `/// WhatsApp Version:` line.
    pub(crate) whatsapp_version: String,
    /// npm package name and version, when a `package.json` sits next to the `WAProto/` folder.
    pub(crate) package: Option<(String, String)>,
    /// License of that package, when known.
    pub(crate) license: Option<String>,
    /// Number of lines of the normalised file.
    pub(crate) lines: usize,
    /// The enums that were given a zero value (see the module doc).
    pub(crate) zeroed: Vec<String>,
}

/// Runs the command with its arguments.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let [path] = args else {
        return Err("usage: cargo xtask proto-import PATH/TO/WAProto.proto".to_string());
    };
    let source = PathBuf::from(path);
    let provenance = import(&source, &workspace_root().join("proto"))?;
    println!(
        "imported {} ({} lines, WhatsApp {}) into proto/WAProto.proto; run `cargo xtask codegen` next",
        source.display(),
        provenance.lines,
        provenance.whatsapp_version
    );
    Ok(())
}

/// Normalises, checks and writes `source` as `proto_dir/WAProto.proto`, then updates the facts
/// block of `proto_dir/README.md`. Nothing is written when a check fails.
pub(crate) fn import(source: &Path, proto_dir: &Path) -> Result<Provenance, String> {
    let raw = fs::read(source).map_err(|e| format!("reading {}: {e}", source.display()))?;
    let text = String::from_utf8(raw).map_err(|_| format!("{} is not UTF-8", source.display()))?;
    let (normalised, zeroed) = add_zero_enum_values(&normalise(&text))?;
    let whatsapp_version = validate(&normalised)?;
    check_compiles(&normalised)?;

    let (package, license) = match read_package_json(source) {
        Some((name, version, license)) => (Some((name, version)), license),
        None => (None, None),
    };
    let provenance = Provenance {
        whatsapp_version,
        package,
        license,
        lines: normalised.lines().count(),
        zeroed,
    };

    let readme_path = proto_dir.join("README.md");
    let readme = match fs::read_to_string(&readme_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("reading {}: {e}", readme_path.display())),
    };
    let updated = update_readme(&readme, &provenance)?;

    fs::create_dir_all(proto_dir).map_err(|e| format!("creating {}: {e}", proto_dir.display()))?;
    let target = proto_dir.join("WAProto.proto");
    fs::write(&target, &normalised).map_err(|e| format!("writing {}: {e}", target.display()))?;
    fs::write(&readme_path, updated)
        .map_err(|e| format!("writing {}: {e}", readme_path.display()))?;
    Ok(provenance)
}

/// Applies the documented normalisation (BOM, line endings, trailing blanks, final newline).
pub(crate) fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len() + 1);
    for line in unified.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Gives every enum whose first value is not 0 a first value `<ENUM_NAME>_UNSET = 0;`, with a
/// trailing comment saying so. Returns the new text and the names of the enums changed.
pub(crate) fn add_zero_enum_values(text: &str) -> Result<(String, Vec<String>), String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() + 4096);
    let mut zeroed = Vec::new();
    let mut pending_enum: Option<&str> = None;
    for line in &lines {
        let trimmed = line.trim();
        if let Some(name) = pending_enum
            && !trimmed.is_empty()
            && !trimmed.starts_with("//")
        {
            pending_enum = None;
            let first_value = trimmed
                .split_once('=')
                .map(|(_, rest)| rest.trim_start())
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .filter(|digits| !digits.is_empty());
            if let Some(number) = first_value
                && number != "0"
            {
                let value_name = format!("{}_UNSET", screaming_snake(name));
                let taken = format!("{value_name} ");
                if lines.iter().any(|l| l.trim().starts_with(&taken)) {
                    return Err(format!("enum {name}: `{value_name}` already exists"));
                }
                let indent = line.strip_suffix(line.trim_start()).unwrap_or("");
                out.push_str(&format!(
                    "{indent}{value_name} = 0; // added by proto-import: proto3 enums need a zero first value\n"
                ));
                zeroed.push(name.to_string());
            }
        }
        if let Some(name) = trimmed
            .strip_prefix("enum ")
            .and_then(|rest| rest.strip_suffix('{'))
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            pending_enum = Some(name);
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok((out, zeroed))
}

/// `OrientationType` → `ORIENTATION_TYPE`; `HTTPStatus` → `HTTP_STATUS`.
fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars.get(i - 1).copied().unwrap_or('_');
            let next = chars.get(i + 1).copied().unwrap_or('_');
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next.is_ascii_lowercase())
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Checks the shape of the file and returns its WhatsApp Web version.
pub(crate) fn validate(text: &str) -> Result<String, String> {
    let code_lines = || text.lines().map(str::trim).filter(|l| !l.is_empty());
    if !code_lines().any(|l| l == "syntax = \"proto3\";") {
        return Err("the file is not `syntax = \"proto3\";`".to_string());
    }
    if !code_lines().any(|l| l == "package proto;") {
        return Err("the file is not `package proto;`".to_string());
    }
    let version = code_lines()
        .find_map(|l| l.strip_prefix("/// WhatsApp Version:"))
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| "no `/// WhatsApp Version: X.Y.Z` line".to_string())?;
    Ok(version.to_string())
}

/// Compiles the text with protox so a broken schema is refused before it replaces ours.
fn check_compiles(text: &str) -> Result<(), String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("wa-proto-import-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let file = dir.join("WAProto.proto");
    let result = fs::write(&file, text)
        .map_err(|e| format!("writing {}: {e}", file.display()))
        .and_then(|()| {
            protox::compile(["WAProto.proto"], [&dir])
                .map(|_| ())
                .map_err(|e| format!("the schema does not compile: {e}"))
        });
    let _ = fs::remove_dir_all(&dir);
    result
}

/// Reads name, version and license from `<PATH>/../../package.json` (the npm package layout
/// `package/WAProto/WAProto.proto`). Returns `None` when there is no such file or it lacks fields.
fn read_package_json(source: &Path) -> Option<(String, String, Option<String>)> {
    let package_dir = source.parent()?.parent()?;
    let text = fs::read_to_string(package_dir.join("package.json")).ok()?;
    let name = json_string_field(&text, "name")?;
    let version = json_string_field(&text, "version")?;
    Some((name, version, json_string_field(&text, "license")))
}

/// Finds the first top-level-looking `"key": "value"` pair. Good enough for `package.json`'s
/// leading `name` / `version` / `license` string fields; returns `None` for anything else.
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let (_, after) = text.split_once(&needle)?;
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let (value, _) = after.strip_prefix('"')?.split_once('"')?;
    Some(value.to_string())
}

/// Writes the provenance block into the README text, replacing an earlier block or appending
/// one (after a minimal title when the README is empty).
pub(crate) fn update_readme(readme: &str, p: &Provenance) -> Result<String, String> {
    let block = provenance_block(p);
    match (readme.find(BEGIN), readme.find(END)) {
        (Some(start), Some(end)) if start < end => {
            let mut out = String::with_capacity(readme.len() + block.len());
            out.push_str(&readme[..start]);
            out.push_str(&block);
            out.push_str(&readme[end + END.len()..]);
            Ok(out)
        }
        (None, None) => {
            let mut out = if readme.trim().is_empty() {
                "# proto/: WhatsApp wire schema and our storage records\n\n".to_string()
            } else {
                format!("{}\n\n", readme.trim_end())
            };
            out.push_str(&block);
            out.push('\n');
            Ok(out)
        }
        _ => Err(format!(
            "proto/README.md has a broken `{BEGIN}` … `{END}` block"
        )),
    }
}

fn provenance_block(p: &Provenance) -> String {
    let package = match &p.package {
        Some((name, version)) => {
            format!("npm package `{name}@{version}`, file `WAProto/WAProto.proto`")
        }
        None => "a `WAProto.proto` whose npm package was not identified".to_string(),
    };
    let license = p
        .license
        .as_deref()
        .unwrap_or("unknown (check the package)");
    format!(
        "{BEGIN}\n\
         | Fact | Value |\n\
         |---|---|\n\
         | Source | {package} |\n\
         | License | {license} |\n\
         | WhatsApp Web version | {} |\n\
         | Lines (after normalisation) | {} |\n\
         | Enums given a `_UNSET = 0` value | {} |\n\
         {END}",
        p.whatsapp_version,
        p.lines,
        if p.zeroed.is_empty() {
            "none".to_string()
        } else {
            p.zeroed.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            whatsapp_version: "2.3000.1".to_string(),
            package: Some(("baileys".to_string(), "7.0.0-rc14".to_string())),
            license: Some("MIT".to_string()),
            lines: 3,
            zeroed: vec!["OrientationType".to_string()],
        }
    }

    #[test]
    fn normalise_fixes_line_endings_bom_and_trailing_blanks() {
        let input = "\u{feff}syntax = \"proto3\";  \r\npackage proto;\r\rmessage A {}\n\n\n";
        assert_eq!(
            normalise(input),
            "syntax = \"proto3\";\npackage proto;\n\nmessage A {}\n"
        );
    }

    #[test]
    fn enums_without_zero_get_one() {
        let input = "message M {\n    enum OrientationType {\n        CENTER = 1;\n    }\n}\nenum Ok {\n    A = 0;\n}\nenum HTTPMode {\n\n    X = 2 [deprecated = true];\n}\n";
        let (out, zeroed) = add_zero_enum_values(input).unwrap();
        assert_eq!(zeroed, ["OrientationType", "HTTPMode"]);
        assert!(out.contains("    enum OrientationType {\n        ORIENTATION_TYPE_UNSET = 0; //"));
        assert!(out.contains("enum Ok {\n    A = 0;\n}"));
        assert!(out.contains("\n    HTTP_MODE_UNSET = 0; //"));
        let (again, none) = add_zero_enum_values(&out).unwrap();
        assert_eq!(again, out, "normalising twice changes nothing");
        assert!(none.is_empty());
        let clash = "enum E {\n  A = 1;\n  E_UNSET = 2;\n}\n";
        assert!(add_zero_enum_values(clash).is_err());
    }

    #[test]
    fn validate_reads_version_and_refuses_other_shapes() {
        let ok =
            "syntax = \"proto3\";\npackage proto;\n\n/// WhatsApp Version: 2.3000.1029496320\n";
        assert_eq!(validate(ok).as_deref(), Ok("2.3000.1029496320"));
        assert!(validate("syntax = \"proto3\";\npackage proto;\n").is_err());
        assert!(
            validate("syntax = \"proto2\";\npackage proto;\n/// WhatsApp Version: 1\n").is_err()
        );
        assert!(validate("syntax = \"proto3\";\npackage x;\n/// WhatsApp Version: 1\n").is_err());
    }

    #[test]
    fn readme_block_is_appended_then_replaced() {
        let first = update_readme("# Title\n\nHand-written text.\n", &sample()).unwrap();
        assert!(first.starts_with("# Title\n\nHand-written text.\n\n"));
        assert!(first.contains("| WhatsApp Web version | 2.3000.1 |"));
        let mut newer = sample();
        newer.whatsapp_version = "2.3000.2".to_string();
        let second = update_readme(&first, &newer).unwrap();
        assert!(second.contains("| WhatsApp Web version | 2.3000.2 |"));
        assert!(!second.contains("2.3000.1 |"));
        assert_eq!(second.matches(BEGIN).count(), 1);
        assert!(update_readme(&format!("{END}\n{BEGIN}"), &sample()).is_err());
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-import-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Lays out an npm package (`package.json` + `WAProto/WAProto.proto`) with `schema` in it.
    fn npm_package(root: &Path, schema: &str) -> PathBuf {
        let package = root.join("package");
        fs::create_dir_all(package.join("WAProto")).unwrap();
        fs::write(
            package.join("package.json"),
            "{\n  \"name\": \"baileys\",\n  \"version\": \"9.9.9\",\n  \"license\": \"MIT\"\n}\n",
        )
        .unwrap();
        let file = package.join("WAProto").join("WAProto.proto");
        fs::write(&file, schema).unwrap();
        file
    }

    #[test]
    fn importing_the_checked_in_schema_changes_nothing() {
        let checked_in = fs::read_to_string(workspace_root().join("proto/WAProto.proto")).unwrap();
        let root = scratch("idempotent");
        // CRLF line endings, as a Windows checkout would have them, are normalised away too.
        let source = npm_package(&root, &checked_in.replace('\n', "\r\n"));
        let out = root.join("proto");
        let provenance = import(&source, &out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("WAProto.proto")).unwrap(),
            checked_in
        );
        assert!(provenance.zeroed.is_empty(), "already normalised");
        assert_eq!(provenance.package, Some(("baileys".into(), "9.9.9".into())));
        let readme = fs::read_to_string(out.join("README.md")).unwrap();
        assert!(readme.contains("`baileys@9.9.9`"));
        assert!(readme.contains("| License | MIT |"));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn import_refuses_a_broken_schema_and_writes_nothing() {
        let root = scratch("broken");
        let schema = "syntax = \"proto3\";\npackage proto;\n/// WhatsApp Version: 1.2.3\nmessage A {\n  optional Missing m = 1;\n}\n";
        let source = npm_package(&root, schema);
        let out = root.join("proto");
        let error = import(&source, &out).unwrap_err();
        assert!(error.contains("does not compile"), "{error}");
        assert!(!out.join("WAProto.proto").exists());
        assert!(!out.join("README.md").exists());
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn import_fixes_a_zeroless_enum_so_it_compiles() {
        let root = scratch("zeroless");
        let schema = "syntax = \"proto3\";\npackage proto;\n/// WhatsApp Version: 1.2.3\nenum Kind {\n    ONE = 1;\n}\nmessage A {\n    optional Kind kind = 1;\n}\n";
        let source = npm_package(&root, schema);
        let out = root.join("proto");
        let provenance = import(&source, &out).unwrap();
        assert_eq!(provenance.zeroed, ["Kind"]);
        assert_eq!(provenance.whatsapp_version, "1.2.3");
        let written = fs::read_to_string(out.join("WAProto.proto")).unwrap();
        assert!(written.contains("enum Kind {\n    KIND_UNSET = 0;"));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn package_json_fields() {
        let json = "{\n  \"name\": \"baileys\",\n  \"version\": \"7.0.0-rc14\",\n  \"license\": \"MIT\"\n}";
        assert_eq!(
            json_string_field(json, "version").as_deref(),
            Some("7.0.0-rc14")
        );
        assert_eq!(json_string_field(json, "license").as_deref(), Some("MIT"));
        assert_eq!(json_string_field(json, "missing"), None);
    }
}

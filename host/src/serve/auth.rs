//! Where the service token comes from: `SPACES_TOKEN`, a token file, or one generated into a 0600 file. The
//! check itself is the API's (`http_api::auth`); the token never appears in logs or Debug output, and requests
//! are attributed to a short id derived from it.

use std::io::Write;
use std::path::{Path, PathBuf};

pub(super) use http_api::auth::Token;

/// Where the token came from, to tell the operator once at start-up.
pub(super) enum Origin {
    Environment,
    File(PathBuf),
    /// Generated now and stored in this file; the token itself is printed this once.
    Generated(PathBuf, String),
}

/// `$XDG_CONFIG_HOME/spaces/token`, else `~/.config/spaces/token`.
pub(super) fn default_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) => PathBuf::from(d),
        None => Path::new(&std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("spaces/token"))
}

/// The configured token: `env` (SPACES_TOKEN) wins, then `file` when given. `None` when neither is configured.
pub(super) fn configured(env: Option<String>, file: Option<&Path>) -> Result<Option<(Token, Origin)>, String> {
    if let Some(t) = env.filter(|t| !t.trim().is_empty()) {
        return Ok(Some((Token::new(t.trim()), Origin::Environment)));
    }
    match file {
        Some(path) => read(path).map(|t| Some((t, Origin::File(path.to_path_buf())))),
        None => Ok(None),
    }
}

/// The token in `path`, or a new one generated into it (mode 0600) when the file does not exist.
pub(super) fn load_or_generate(path: &Path) -> Result<(Token, Origin), String> {
    if path.exists() {
        return read(path).map(|t| (t, Origin::File(path.to_path_buf())));
    }
    let token = super::random_hex(32)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("creating the token file {}: {e}", path.display()))?;
    writeln!(f, "{token}").map_err(|e| format!("writing the token file {}: {e}", path.display()))?;
    Ok((Token::new(&token), Origin::Generated(path.to_path_buf(), token)))
}

fn read(path: &Path) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading the token file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(Token::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_private_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("spaces-token-test-{}", std::process::id()));
        let path = dir.join("sub/token");
        let (first, origin) = load_or_generate(&path).unwrap();
        let Origin::Generated(_, printed) = origin else { panic!("not generated") };
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(first.accepts(Some(format!("Bearer {printed}").as_bytes())));
        let (again, origin) = load_or_generate(&path).unwrap();
        assert!(matches!(origin, Origin::File(_)));
        assert_eq!(again.id(), first.id());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

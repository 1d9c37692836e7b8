//! Where the signing credentials come from: flags, then `SPACES_*` env, then `AWS_*` env, then a `.env` file in
//! the working directory. The secret is wrapped so that no `Debug`, log line or error can print it.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Looks a variable up: the process environment, or a parsed `.env` file.
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A string that never shows itself.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// Where they were found, for diagnostics ("flags", "SPACES_* environment", ".env file").
    pub source: &'static str,
}

/// Looks the credentials up in order; `Err` says every place that was tried.
pub(crate) fn resolve(
    flag_key: Option<String>,
    flag_secret: Option<Secret>,
    env: Lookup,
    dotenv_dir: &Path,
) -> Result<Credentials, String> {
    if let (Some(k), Some(s)) = (flag_key.clone(), flag_secret.clone()) {
        return Ok(Credentials { access_key_id: k, secret_access_key: s, session_token: None, source: "flags" });
    }
    let dotenv = read_dotenv(&dotenv_dir.join(".env"));
    let sources: [(&'static str, Lookup); 2] = [("environment", env), (".env file", &|k: &str| dotenv.get(k).cloned())];
    for (source, lookup) in sources {
        let nonempty = |k: &str| lookup(k).filter(|v| !v.is_empty());
        for (key_var, secret_var, token_var) in [
            ("SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY", "SPACES_SESSION_TOKEN"),
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
        ] {
            let key = flag_key.clone().or_else(|| nonempty(key_var));
            let secret = flag_secret.clone().or_else(|| nonempty(secret_var).map(Secret::new));
            if let (Some(k), Some(s)) = (key, secret) {
                return Ok(Credentials {
                    access_key_id: k,
                    secret_access_key: s,
                    session_token: nonempty(token_var).map(Secret::new),
                    source,
                });
            }
        }
    }
    Err("no Spaces credentials: set SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY), pass --access-key-id and --secret-access-key, or put them in a .env file"
        .into())
}

/// The DigitalOcean API token: `DIGITALOCEAN_TOKEN` in the environment, else in the `.env` file.
pub(crate) fn api_token(env: Lookup, dotenv_dir: &Path) -> Result<Secret, String> {
    let from_file = || read_dotenv(&dotenv_dir.join(".env")).remove("DIGITALOCEAN_TOKEN");
    env("DIGITALOCEAN_TOKEN")
        .or_else(from_file)
        .filter(|t| !t.trim().is_empty())
        .map(|t| Secret::new(t.trim()))
        .ok_or_else(|| {
            "set DIGITALOCEAN_TOKEN (a token from the control panel's API page, with the scopes the command needs) \
             or put it in a .env file"
                .into()
        })
}

/// `KEY=VALUE` lines; `#` comments, `export ` prefixes and surrounding quotes allowed. A missing file is empty.
fn read_dotenv(path: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    fn tmp(name: &str, dotenv: Option<&str>) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("spaces-cred-test-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        match dotenv {
            Some(text) => std::fs::write(dir.join(".env"), text).unwrap(),
            None => drop(std::fs::remove_file(dir.join(".env"))),
        }
        dir
    }

    #[test]
    fn order_is_flags_spaces_aws_dotenv() {
        let dir = tmp("order", Some("SPACES_ACCESS_KEY_ID=fromfile\nSPACES_SECRET_ACCESS_KEY='s3cr3t'\n"));
        let e = env(&[
            ("SPACES_ACCESS_KEY_ID", "spaces"),
            ("SPACES_SECRET_ACCESS_KEY", "x"),
            ("AWS_ACCESS_KEY_ID", "aws"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
        ]);
        assert_eq!(resolve(Some("flag".into()), Some(Secret::new("f")), &e, &dir).unwrap().access_key_id, "flag");
        assert_eq!(resolve(None, None, &e, &dir).unwrap().access_key_id, "spaces");
        let aws = env(&[("AWS_ACCESS_KEY_ID", "aws"), ("AWS_SECRET_ACCESS_KEY", "y"), ("AWS_SESSION_TOKEN", "tok")]);
        let c = resolve(None, None, &aws, &dir).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.unwrap().expose()), ("aws", "tok"));
        let c = resolve(None, None, &env(&[]), &dir).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.expose(), c.source),
            ("fromfile", "s3cr3t", ".env file")
        );
    }

    #[test]
    fn missing_credentials_name_the_variables() {
        let dir = tmp("missing", None);
        let err = resolve(None, None, &env(&[("SPACES_ACCESS_KEY_ID", "only-the-key")]), &dir).unwrap_err();
        assert!(err.contains("SPACES_SECRET_ACCESS_KEY"), "{err}");
    }

    #[test]
    fn api_token_from_env_then_dotenv() {
        let dir = tmp("api", Some("DIGITALOCEAN_TOKEN=dop_v1_file\n"));
        assert_eq!(api_token(&env(&[("DIGITALOCEAN_TOKEN", "dop_v1_env")]), &dir).unwrap().expose(), "dop_v1_env");
        assert_eq!(api_token(&env(&[]), &dir).unwrap().expose(), "dop_v1_file");
        let none = tmp("api-none", None);
        assert!(api_token(&env(&[]), &none).unwrap_err().contains("DIGITALOCEAN_TOKEN"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials {
            access_key_id: "AK".into(),
            secret_access_key: Secret::new("hunter2"),
            session_token: Some(Secret::new("tok3n")),
            source: "flags",
        };
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("tok3n"), "{printed}");
    }
}

//! The command line.
//!
//! ```text
//! clementine [-conf=FILE | --conf FILE]            serve the API
//! clementine [--conf FILE] user add [--admin] NAME  create a user; password on stdin
//! clementine [--conf FILE] migrate                  apply Redis schema migrations
//! clementine [--conf FILE] replay [--apply]          plan (or do) the audit log's replay
//! clementine [--conf FILE] secrets rotate           re-seal registry credentials under the new key
//! clementine [--conf FILE] audit verify [--from-checkpoint FILE]   check the audit log's tree
//! clementine [--conf FILE] audit export DIR         write checkpoints, tiles and entries
//! clementine audit keygen ORIGIN                    a new checkpoint signing key
//! clementine [--conf FILE] backup FILE              snapshot the deployment's keys
//! clementine [--conf FILE] restore [--force] FILE   load a snapshot into an empty deployment
//! clementine pki init|engine|client|show ...       make and read the deployment's certificates
//! clementine openapi                                print the OpenAPI spec
//! ```
//!
//! The seed's single-dash `-conf=FILE` spelling is accepted beside `--conf FILE`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::Principal;
use crate::cluster::{Cluster, ClusterError};
use crate::config::{Settings, StoreSettings, process_env};
use crate::domain::{NewUser, Role, check_password, check_username};
use crate::shutdown::Shutdown;
use crate::startup::{Application, build_cluster};
use crate::store::Store;
use crate::telemetry;

mod pki;
pub use pki::PkiCommand;

/// Runs containers across a cluster of Docker engines for many users.
///
/// Every config field can also be set with a CLEMENTINE_* environment variable (see README);
/// with those set, no config file is needed.
#[derive(Debug, Parser)]
#[command(name = "clementine", version, about, long_about)]
pub struct Cli {
    /// JSON config file (also accepted as -conf=FILE).
    #[arg(long, global = true, value_name = "FILE")]
    pub conf: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Apply the Redis schema migrations that are not applied yet.
    Migrate,
    /// Print the OpenAPI spec as JSON.
    Openapi,
    /// Write this help as man pages (one per command) into DIR, for packaging.
    #[command(hide = true)]
    Manpages { dir: PathBuf },
    /// Check or export the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent snapshot of every key of the deployment (users, tokens, engines,
    /// grants, teams, quotas, configs, sealed registry credentials, claims, the audit stream
    /// and its tree) to FILE (made readable by its owner only).
    Backup { file: PathBuf },
    /// Load a snapshot made by `backup` into a deployment that holds nothing (run it before
    /// the servers start; RESTORE needs a Redis user allowed @dangerous commands).
    Restore {
        /// Replace whatever the deployment holds.
        #[arg(long)]
        force: bool,
        file: PathBuf,
    },
    /// Make the deployment's certificates (a CA, engines' server certificates with their
    /// daemon.json, clementine's client certificate) and read what a certificate says.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Manage the key that seals registry credentials.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Fold the audit log into the containers that should exist and plan their placement
    /// again where they are missing (a dry run unless --apply).
    Replay {
        /// Carry the plan out: reschedule, restore engines and reservations, rebuild the index.
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's Merkle tree from the stream and check every signed
    /// checkpoint; name the first entry that does not match (deleted, changed, inserted,
    /// replayed or truncated). Fails when anything does not.
    Verify {
        /// Also check a checkpoint kept outside Redis (a signed note, as GET
        /// /apiv1/audit/checkpoint gives it).
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
    },
    /// Make a new checkpoint signing key named ORIGIN (the deployment's name: no spaces, no
    /// `+`): the signer key goes to standard output (keep it in the file
    /// CLEMENTINE_AUDIT_SIGNING_KEY_FILE names), the verifier key to standard error.
    Keygen { origin: String },
    /// Write the checkpoints, the tree's tiles and the entries as static files in the C2SP
    /// tlog-tiles layout, for outside witnesses and tlog clients.
    Export {
        /// The directory to write into (made if missing).
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-seal every stored registry credential under CLEMENTINE_SECRETS_KEY that is still
    /// sealed under CLEMENTINE_SECRETS_PREVIOUS_KEY. Idempotent: run it again after an
    /// interruption, or to check that nothing is left.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Add {
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// The login name.
        name: String,
    },
}

/// Rewrites the seed's `-conf=FILE` / `-conf FILE` into `--conf`.
pub fn normalise_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| match a.strip_prefix("-conf") {
            Some(rest) if rest.is_empty() || rest.starts_with('=') => format!("--conf{rest}"),
            _ => a,
        })
        .collect()
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(normalise_args(std::env::args()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clementine: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("clementine: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let conf = cli.conf.as_deref();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(conf).await,
        Command::Migrate => migrate(conf).await,
        Command::User {
            command: UserCommand::Add { admin, name },
        } => user_add(conf, name, admin).await,
        Command::Replay { apply } => replay(conf, apply).await,
        Command::Secrets {
            command: SecretsCommand::Rotate,
        } => rotate_secrets(conf).await,
        Command::Audit { command } => audit(conf, command).await,
        Command::Pki { command } => pki::run(command),
        Command::Backup { file } => crate::backup::backup(&connect(conf).await?, &file).await,
        Command::Restore { force, file } => {
            crate::backup::restore(&connect(conf).await?, &file, force).await
        }
        Command::Openapi => {
            println!("{}", crate::api::spec_json());
            Ok(())
        }
        Command::Manpages { dir } => {
            use clap::CommandFactory;
            clap_mangen::generate_to(Cli::command(), &dir)
                .map_err(|e| format!("cannot write man pages into {}: {e}", dir.display()))
        }
    }
}

async fn serve(conf: Option<&Path>) -> Result<(), String> {
    let settings = Settings::load(conf, &process_env).map_err(|e| e.to_string())?;
    telemetry::init(settings.log_format);
    let conf = conf.map(Path::to_path_buf);
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?
        .reloading_with(Arc::new(move || {
            Settings::load(conf.as_deref(), &process_env)
        }));
    let addr = app.addr();
    tracing::info!(%addr, "clementine listening");
    eprintln!("clementine: serving on http://{addr} (Swagger UI at http://{addr}/docs)");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn migrate(conf: Option<&Path>) -> Result<(), String> {
    let store = connect(conf).await?;
    let report = store.migrate().await.map_err(|e| e.to_string())?;
    if report.applied.is_empty() {
        println!("schema is up to date at version {}", report.version);
    } else {
        println!(
            "applied {}; schema is at version {}",
            report.applied.join(", "),
            report.version
        );
    }
    Ok(())
}

/// Creates a user through the cluster, as the CLI operator (audited like the API's).
async fn user_add(conf: Option<&Path>, name: String, admin: bool) -> Result<(), String> {
    check_username("NAME", &name).map_err(|e| e.to_string())?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']);
    check_password("password", password).map_err(|e| e.to_string())?;
    let new = NewUser {
        username: name,
        password: password.to_string(),
        role: if admin { Role::Admin } else { Role::User },
    };
    let user = with_cluster(conf, |cluster| async move {
        cluster.create_user(&Principal::operator(), &new).await
    })
    .await?;
    println!("created {} {}", user.role.as_str(), user.username);
    Ok(())
}

async fn audit(conf: Option<&Path>, command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Keygen { origin } => {
            use crate::events::tree::note::Signer;
            let skey = Signer::generate(&origin).map_err(|e| e.to_string())?;
            let signer = Signer::new(&skey).map_err(|e| e.to_string())?;
            println!("{skey}");
            eprintln!("verifier key: {}", signer.verifier_key());
            Ok(())
        }
        AuditCommand::Verify { from_checkpoint } => {
            let outside = match &from_checkpoint {
                Some(file) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
                ),
                None => None,
            };
            let report = with_cluster(conf, |cluster| async move {
                cluster.audit_verify(outside.as_deref()).await
            })
            .await?;
            for p in &report.problems {
                println!("{} {}: {}", p.kind, p.entry, p.detail);
            }
            let summary = format!(
                "{} entries, {} leaves ({} trimmed by retention), {} checkpoints",
                report.entries, report.leaves, report.trimmed, report.checkpoints
            );
            match report.problems.first() {
                None => {
                    println!("ok: {summary}");
                    Ok(())
                }
                Some(first) => Err(format!(
                    "the audit log does not verify: first {} entry {} ({summary})",
                    first.kind, first.entry
                )),
            }
        }
        AuditCommand::Export { dir } => {
            let done = with_cluster(
                conf,
                |cluster| async move { cluster.audit_export(&dir).await },
            )
            .await?;
            println!(
                "exported a tree of {} entries: {} checkpoints, {} tiles, {} entry bundles",
                done.size, done.checkpoints, done.tiles, done.bundles
            );
            Ok(())
        }
    }
}

async fn rotate_secrets(conf: Option<&Path>) -> Result<(), String> {
    let done = with_cluster(conf, |cluster| async move {
        cluster.rotate_secrets(&Principal::operator()).await
    })
    .await?;
    println!(
        "re-sealed {} credential(s); {} already under the current key",
        done.resealed, done.current
    );
    Ok(())
}

async fn replay(conf: Option<&Path>, apply: bool) -> Result<(), String> {
    let plan = with_cluster(conf, |cluster| async move {
        cluster.replay(&Principal::operator(), apply).await
    })
    .await?;
    use poem_openapi::types::ToJSON;
    let json = plan.to_json().unwrap_or_default();
    println!(
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    );
    Ok(())
}

/// Runs one action on a cluster built from the settings (no listener, no background tasks),
/// then writes its queued audit outcomes before returning.
async fn with_cluster<T, F>(
    conf: Option<&Path>,
    action: impl FnOnce(Arc<Cluster>) -> F,
) -> Result<T, String>
where
    F: Future<Output = Result<T, ClusterError>>,
{
    let settings = Settings::load(conf, &process_env).map_err(|e| e.to_string())?;
    telemetry::init(settings.log_format);
    let shutdown = Shutdown::new();
    let (cluster, _, _) = build_cluster(&settings, &shutdown)
        .await
        .map_err(|e| e.to_string())?;
    let result = action(cluster.clone()).await.map_err(|e| e.to_string());
    shutdown.close();
    cluster.audit().flush().await;
    result
}

async fn connect(conf: Option<&Path>) -> Result<Store, String> {
    let settings = StoreSettings::load(conf, &process_env).map_err(|e| e.to_string())?;
    Store::connect(&settings).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        normalise_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn seed_spelling_is_accepted() {
        assert_eq!(args(&["c", "-conf=x.json"]), ["c", "--conf=x.json"]);
        assert_eq!(args(&["c", "-conf", "x.json"]), ["c", "--conf", "x.json"]);
        assert_eq!(args(&["c", "-config"]), ["c", "-config"]);
        let cli = Cli::try_parse_from(args(&["c", "-conf=x.json", "migrate"])).unwrap();
        assert_eq!(cli.conf.unwrap().to_str(), Some("x.json"));
        assert!(matches!(cli.command, Some(Command::Migrate)));
        let cli = Cli::try_parse_from(args(&["c", "user", "add", "--admin", "root"])).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::Add { admin: true, .. }
            })
        ));
    }
}

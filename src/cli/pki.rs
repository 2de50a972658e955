//! `clementine pki`: the deployment's certificates (see [`crate::pki`]).

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Make the CA: DIR/ca.pem and DIR/ca-key.pem (kept off every other machine). Refuses to
    /// overwrite an existing CA.
    Init {
        /// How long the CA is valid.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        dir: PathBuf,
    },
    /// Make (or renew) an engine's server certificate and key, signed by the CA in DIR, with
    /// the daemon.json that makes dockerd require client certificates from that CA on
    /// ADDR:2376. Writes DIR/engines/HOST/{ca.pem,cert.pem,key.pem,daemon.json}: copy the
    /// folder to the host's --tls-dir.
    Engine {
        /// The host's name (certificate name and folder).
        #[arg(long, value_name = "HOST")]
        name: String,
        /// An address clementine reaches the engine on; repeat for more. The first is the one
        /// dockerd listens on.
        #[arg(long = "ip", value_name = "ADDR", required = true)]
        ips: Vec<std::net::IpAddr>,
        /// Where the files will be on the engine's host (daemon.json names them there).
        #[arg(long, default_value = "/etc/docker/clementine")]
        tls_dir: String,
        /// The local socket dockerd keeps beside TCP ("" for none).
        #[arg(long, default_value = "/var/run/docker.sock")]
        unix_socket: String,
        /// How long the certificate is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
        dir: PathBuf,
    },
    /// Make (or renew) clementine's client certificate and key, signed by the CA in DIR:
    /// DIR/client/{ca.pem,cert.pem,key.pem} (CLEMENTINE_TLS_CA, _CERT, _KEY).
    Client {
        /// How long the certificate is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
        dir: PathBuf,
    },
    /// Print each certificate in a PEM file: subject, issuer, names, addresses and expiry
    /// (flagged when under 30 days).
    Show { file: PathBuf },
}

/// Runs one `clementine pki` command: what it wrote, or the certificates a file holds.
pub(super) fn run(command: PkiCommand) -> Result<(), String> {
    use crate::pki::{EngineSpec, Validity};
    let written = match command {
        PkiCommand::Init { days, dir } => crate::pki::init(&dir, &Validity { days }),
        PkiCommand::Engine {
            name,
            ips,
            tls_dir,
            unix_socket,
            days,
            dir,
        } => {
            let spec = EngineSpec {
                name,
                ips,
                tls_dir,
                unix_socket,
            };
            crate::pki::engine(&dir, &spec, &Validity { days })
        }
        PkiCommand::Client { days, dir } => crate::pki::client(&dir, &Validity { days }),
        PkiCommand::Show { file } => {
            let pem =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let certs = crate::pki::show(&pem).map_err(|e| format!("{}: {e}", file.display()))?;
            let text: Vec<String> = certs.iter().map(ToString::to_string).collect();
            println!("{}", text.join("\n\n"));
            return Ok(());
        }
    };
    for path in written.map_err(|e| e.to_string())? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

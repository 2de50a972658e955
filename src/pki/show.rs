//! What a certificate says: names, addresses and expiry (`clementine pki show`, and the expiry
//! that `/metrics` and engine health report).

use std::fmt;
use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::PkiError;
use crate::time::rfc3339_secs;

/// One certificate, as `pki show` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub subject: String,
    pub issuer: String,
    pub is_ca: bool,
    /// DNS names and IP addresses, as written in the certificate.
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl Summary {
    fn of(cert: &X509Certificate<'_>) -> Self {
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san.value.general_names.iter().filter_map(name).collect(),
            _ => Vec::new(),
        };
        Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            is_ca: cert.is_ca(),
            names,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        }
    }

    /// Whole days from `now` (Unix seconds) until it expires; negative once it has.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = crate::time::now_secs() as i64;
        let days = self.days_left(now);
        let state = if self.not_after <= now {
            "EXPIRED".to_string()
        } else if super::expiring(self.not_after) {
            format!("EXPIRING in {days} days")
        } else {
            format!("valid for {days} more days")
        };
        writeln!(f, "subject:    {}", self.subject)?;
        writeln!(f, "issuer:     {}", self.issuer)?;
        if self.is_ca {
            writeln!(f, "ca:         yes")?;
        }
        if !self.names.is_empty() {
            writeln!(f, "names:      {}", self.names.join(", "))?;
        }
        writeln!(f, "not before: {}", rfc3339_secs(self.not_before))?;
        write!(f, "not after:  {} ({state})", rfc3339_secs(self.not_after))
    }
}

fn name(general: &GeneralName<'_>) -> Option<String> {
    match general {
        GeneralName::DNSName(dns) => Some(dns.to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => Some(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string()),
            16 => Some(IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Every certificate in a PEM file, in order. A file with none, or one that does not parse,
/// is an error naming why.
pub fn show(pem: &[u8]) -> Result<Vec<Summary>, PkiError> {
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| PkiError::Invalid(format!("not PEM: {e}")))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        let cert = block
            .parse_x509()
            .map_err(|e| PkiError::Invalid(format!("not a certificate: {e}")))?;
        out.push(Summary::of(&cert));
    }
    if out.is_empty() {
        return Err(PkiError::Invalid("no certificate in it".into()));
    }
    Ok(out)
}

/// When the first certificate of a PEM file expires (Unix seconds).
pub fn not_after_of_pem(pem: &[u8]) -> Option<i64> {
    show(pem).ok()?.first().map(|s| s.not_after)
}

/// When a DER certificate expires (Unix seconds).
pub fn not_after_of_der(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

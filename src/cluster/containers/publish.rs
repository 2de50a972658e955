//! Where users may publish ports: only on the addresses an engine's admin listed
//! (`publish_ips`, by default the address the engine is reached on). A `host_ip` of loopback
//! (`127.0.0.1`, `::1`) would squat a port of the engine host's own services, a registry
//! mirror for one, and an unspecified one (`0.0.0.0`, `::`) every interface; neither is a user's
//! unless an admin listed it. Admins publish anywhere.

use std::net::IpAddr;

use super::{Cluster, ClusterResult};
use crate::auth::{AuthError, Principal};
use crate::domain::{Engine, ImageConfig};

/// The `host_ip`s a config asks for, with the field each came from.
fn asked(config: &ImageConfig) -> impl Iterator<Item = (String, IpAddr)> + '_ {
    (config.bind_ports.iter().enumerate()).filter_map(|(i, p)| {
        let ip = p.host_ip.as_deref()?.parse().ok()?;
        Some((format!("bind_ports[{i}].host_ip"), ip))
    })
}

/// Why an engine cannot take a user's config for its publish addresses, if it cannot.
pub(in crate::cluster) fn unpublishable(engine: &Engine, config: &ImageConfig) -> Option<String> {
    let (_, ip) = asked(config).find(|(_, ip)| !engine.publishes_on(*ip))?;
    Some(format!("{}: does not publish on {ip}", engine.id))
}

impl Cluster {
    /// A user's `host_ip`s must each be a publish address of some engine they may use (403
    /// `option_not_allowed` naming the field otherwise); placement then keeps to engines that
    /// publish on all of them.
    pub(in crate::cluster) async fn check_publish_addresses(
        &self,
        principal: &Principal,
        config: &ImageConfig,
    ) -> ClusterResult<()> {
        if asked(config).next().is_none() {
            return Ok(());
        }
        let engines = self.list_engines(principal).await?;
        for (field, ip) in asked(config) {
            if !engines.iter().any(|e| e.publishes_on(ip)) {
                let why = format!(
                    "{field}: {ip} is not an address your engines publish on; leave it out to \
                     publish on the engine's own address"
                );
                return Err(AuthError::OptionNotAllowed(why).into());
            }
        }
        Ok(())
    }
}

//! The tamper-evident audit tree: the latest signed checkpoint, the verifier key, and proofs
//! (RFC 9162 inclusion and consistency, hashes in base64 as `golang.org/x/mod/sumdb/tlog`
//! prints them). A tenant proves their own entries; others' answer 404.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::PlainText;
use poem_openapi::{Object, OpenApi, Tags};

use super::response::ok;
use super::security::Auth;
use super::{ApiError, ApiResult};
use crate::cluster::Cluster;

#[derive(Tags)]
enum Tag {
    /// Proofs that the audit log was not rewritten.
    Audit,
}

/// Where an entry is in the tree, and the hashes from its leaf to the root.
#[derive(Debug, Object)]
pub struct InclusionProof {
    /// The entry's leaf number (0-based, stream order).
    pub leaf_index: u64,
    /// The size of the tree proven against (a checkpoint's).
    pub tree_size: u64,
    /// `SHA-256(0x00 || leaf bytes)`, base64.
    pub leaf_hash: String,
    /// The proof, base64, leaf to root.
    pub hashes: Vec<String>,
}

/// Hashes proving the tree of `from` leaves is a prefix of the tree of `to` leaves.
#[derive(Debug, Object)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// The proof, base64.
    pub hashes: Vec<String>,
}

fn base64(hashes: &[tlog_tiles::Hash]) -> Vec<String> {
    hashes.iter().map(ToString::to_string).collect()
}

pub struct AuditApi;

#[OpenApi(tag = "Tag::Audit")]
impl AuditApi {
    /// The latest checkpoint: a C2SP signed note holding the C2SP checkpoint text (origin,
    /// tree size, root hash), signed with the deployment's Ed25519 key.
    #[oai(
        path = "/audit/checkpoint",
        method = "get",
        operation_id = "getAuditCheckpoint"
    )]
    async fn checkpoint(
        &self,
        cluster: Data<&Arc<Cluster>>,
        _auth: Auth,
    ) -> Result<PlainText<String>, ApiError> {
        Ok(PlainText(cluster.audit_checkpoint().await?))
    }

    /// The key that verifies checkpoints, in the note format (`name+id+key`).
    #[oai(path = "/audit/key", method = "get", operation_id = "getAuditKey")]
    async fn key(
        &self,
        cluster: Data<&Arc<Cluster>>,
        _auth: Auth,
    ) -> Result<PlainText<String>, ApiError> {
        Ok(PlainText(format!("{}\n", cluster.audit_key()?)))
    }

    /// Proves that an entry the caller may see is in the tree of `size` entries (default: the
    /// latest checkpoint's). 404 for an entry not sequenced yet, or not the caller's.
    #[oai(
        path = "/audit/proof/inclusion",
        method = "get",
        operation_id = "getAuditInclusionProof"
    )]
    async fn inclusion(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// The entry's id (`ms-seq`).
        id: Query<String>,
        /// The tree size to prove against.
        size: Query<Option<u64>>,
    ) -> ApiResult<InclusionProof> {
        let proof = cluster.audit_inclusion(&auth.0, &id, *size).await?;
        ok(InclusionProof {
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            leaf_hash: proof.leaf_hash.to_string(),
            hashes: base64(&proof.hashes),
        })
    }

    /// Proves that the tree of `from` entries is a prefix of the tree of `to` entries.
    #[oai(
        path = "/audit/proof/consistency",
        method = "get",
        operation_id = "getAuditConsistencyProof"
    )]
    async fn consistency(
        &self,
        cluster: Data<&Arc<Cluster>>,
        _auth: Auth,
        from: Query<u64>,
        to: Query<u64>,
    ) -> ApiResult<ConsistencyProof> {
        let hashes = cluster.audit_consistency(*from, *to).await?;
        ok(ConsistencyProof {
            from: *from,
            to: *to,
            hashes: base64(&hashes),
        })
    }
}

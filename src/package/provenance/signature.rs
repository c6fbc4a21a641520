//! A commit's signature, verified in-process: never a program.

/// A commit's signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// `ssh`, `openpgp`, `x509` or `unknown`.
    pub format: String,
    /// Whether it verifies over the commit with the key it names (`None`: not verified here).
    pub valid: Option<bool>,
    /// The signing key's SHA-256 fingerprint (`SHA256:…`), for SSH.
    pub key: Option<String>,
    /// Who holds that key, by the root policy's `allowed-signers` (set by
    /// `Report::apply`).
    pub signer: Option<String>,
    /// Why it was not verified, or why it does not verify.
    pub why_not: Option<String>,
}

/// The namespace git signs commits in (`ssh-keygen -Y sign -n git`).
const SSH_NAMESPACE: &str = "git";

/// Verifies `sig` (the armored signature from the commit's `gpgsig` header) over `signed` (the
/// commit without that header). Never runs a program.
pub fn verify_signature(sig: &[u8], signed: &[u8]) -> Signature {
    let text = String::from_utf8_lossy(sig);
    let text = text.trim();
    let named = |format: &str, why: &str| Signature {
        format: format.into(),
        why_not: Some(why.into()),
        ..Default::default()
    };
    if text.starts_with("-----BEGIN PGP SIGNATURE-----") {
        return named(
            "openpgp",
            "OpenPGP signatures are verified against a keyring, which this helper does not read",
        );
    }
    if text.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        return named(
            "x509",
            "X.509 signatures are verified by a program, which this helper never runs",
        );
    }
    if !text.starts_with("-----BEGIN SSH SIGNATURE-----") {
        return named("unknown", "a signature of a kind this helper does not know");
    }
    let mut out = Signature {
        format: "ssh".into(),
        valid: Some(false),
        ..Default::default()
    };
    let parsed = match ssh_key::SshSig::from_pem(text) {
        Ok(s) => s,
        Err(e) => {
            out.why_not = Some(format!("the SSH signature cannot be read: {e}"));
            return out;
        }
    };
    let key = ssh_key::PublicKey::from(parsed.public_key().clone());
    out.key = Some(key.fingerprint(ssh_key::HashAlg::Sha256).to_string());
    match key.verify(SSH_NAMESPACE, signed, &parsed) {
        Ok(()) => out.valid = Some(true),
        Err(e) => out.why_not = Some(format!("the SSH signature does not verify: {e}")),
    }
    out
}

using System.ComponentModel.DataAnnotations;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// The <c>Ledger</c> section: the gate's signing key, the keys checkpoints are verified with, where checkpoints are
/// written and how often. The private key goes to the consent service alone; <c>verify-ledger</c> needs only the
/// public keys and the checkpoint file, so it can run wherever the file was copied to.
/// </summary>
public sealed class LedgerAnchorOptions
{
    public const string Section = "Ledger";

    /// <summary>File name of the checkpoints in <see cref="CheckpointDirectory"/>: one signed checkpoint per line.</summary>
    public const string CheckpointFileName = "checkpoints.jsonl";

    /// <summary>PEM (PKCS#8) of the gate's ECDSA P-256 signing key; needed only by the consent service that writes checkpoints.</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>
    /// PEM (SubjectPublicKeyInfo) files of every key whose checkpoints are still to be accepted, the current one and those
    /// it replaced; each is known by its kid (the RFC 7638 thumbprint), so a key rotates by adding the new public key
    /// before the new private key is used and never removing the old one while its checkpoints are kept.
    /// </summary>
    public string[] VerificationKeyPaths { get; set; } = [];

    /// <summary>A directory outside the database, which an operator can copy off the machine.</summary>
    [Required]
    public string? CheckpointDirectory { get; set; }

    /// <summary>
    /// How often the head is checkpointed (when it moved): the most an attacker with the database can rewrite unanchored.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    public string CheckpointPath => Path.Combine(CheckpointDirectory ?? throw new InvalidOperationException("Ledger:CheckpointDirectory is not set."), CheckpointFileName);
}

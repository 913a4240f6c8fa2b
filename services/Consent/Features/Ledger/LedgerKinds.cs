using System.Collections.Frozen;
using System.Globalization;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>What a ledger entry records. One entry of each kind per message, at most (a conflict: per refused body).</summary>
public enum LedgerKind
{
    /// <summary>The gate's decision on a submission.</summary>
    Decision,

    /// <summary>Another submission under a message id already decided; never delivered. One per distinct refused body.</summary>
    Conflict,

    Delivery,
    Withdrawal,
    Acknowledgement,
    ConsentRecorded,
    ConsentChanged,
    ConsentNarrowed,
    ConsentRevoked,

    /// <summary>A unit told the hub that a grantor no longer acts for the subject; one entry per consent it reaches.</summary>
    CustodyChanged,

    /// <summary>The family's log extract was given out (issue 14 item 1); its message id is the request's own.</summary>
    ExtractDisclosed,

    /// <summary>A flagged decision was reviewed; its message id is the decision's, so it is reviewed once.</summary>
    Reviewed,

    /// <summary>A random sample of the ledger was drawn for log follow-up, with its seed; its message id is the request's own.</summary>
    SampleDrawn,

    /// <summary>An operator acted on a service's messages (a redrive from the console); its message id is the action's own.</summary>
    OperatorAction,
}

/// <summary>What came of it: for a decision, permitted or refused; for a consent entry, the version it records.</summary>
public enum LedgerOutcome
{
    Permitted,
    Refused,
    Conflict,
    Delivered,
    Withdrawn,
    Acknowledged,

    /// <summary>A consent version (<see cref="LedgerEntry.ConsentVersion"/>).</summary>
    Version,

    /// <summary>A fact the hub was told and now acts on (a custody change).</summary>
    Recorded,
}

/// <summary>
/// The text each kind and outcome is stored as, in this one place. The hash chain covers the text, so no text may ever
/// change: an entry read back must hash exactly as it did when it was written, however old. A text not in these tables
/// was not written by the ledger.
/// </summary>
public static class LedgerText
{
    /// <summary>A conflict's kind is this, then the refused submission's digest in hex (its <see cref="LedgerEntry.Digest"/>).</summary>
    public const string ConflictKindPrefix = "conflict:";

    private const string VersionPrefix = "version ";

    private static readonly Dictionary<LedgerKind, string> Kinds = new()
    {
        [LedgerKind.Decision] = "decision",
        [LedgerKind.Delivery] = "delivery",
        [LedgerKind.Withdrawal] = "withdrawal",
        [LedgerKind.Acknowledgement] = "acknowledgement",
        [LedgerKind.ConsentRecorded] = "consent-recorded",
        [LedgerKind.ConsentChanged] = "consent-changed",
        [LedgerKind.ConsentNarrowed] = "consent-narrowed",
        [LedgerKind.ConsentRevoked] = "consent-revoked",
        [LedgerKind.CustodyChanged] = "custody-changed",
        [LedgerKind.ExtractDisclosed] = "extract-disclosed",
        [LedgerKind.Reviewed] = "reviewed",
        [LedgerKind.SampleDrawn] = "sample-drawn",
        [LedgerKind.OperatorAction] = "operator-action",
    };

    private static readonly Dictionary<LedgerOutcome, string> Outcomes = new()
    {
        [LedgerOutcome.Permitted] = "permitted",
        [LedgerOutcome.Refused] = "refused",
        [LedgerOutcome.Conflict] = "conflict",
        [LedgerOutcome.Delivered] = "delivered",
        [LedgerOutcome.Withdrawn] = "withdrawn",
        [LedgerOutcome.Acknowledged] = "acknowledged",
        [LedgerOutcome.Recorded] = "recorded",
    };

    // The same tables read backwards: the verifier reads every entry's kind and outcome.
    private static readonly FrozenDictionary<string, LedgerKind> KindsByText = Kinds.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, LedgerOutcome> OutcomesByText = Outcomes.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <param name="digest">For a conflict, the refused submission's digest, which its kind names.</param>
    public static string Of(LedgerKind kind, byte[]? digest = null) => kind == LedgerKind.Conflict
        ? ConflictKindPrefix + Convert.ToHexStringLower(digest ?? throw new ArgumentNullException(nameof(digest), "A conflict's kind names the refused digest."))
        : Kinds[kind];

    /// <param name="version">For <see cref="LedgerOutcome.Version"/>, the consent's version.</param>
    public static string Of(LedgerOutcome outcome, int? version = null) => outcome == LedgerOutcome.Version
        ? VersionPrefix + (version ?? throw new ArgumentNullException(nameof(version), "A consent entry's outcome names its version.")).ToString(CultureInfo.InvariantCulture)
        : Outcomes[outcome];

    /// <summary>The kind stored as <paramref name="text"/> on an entry with this digest, or null when the ledger writes no such text.</summary>
    public static LedgerKind? KindOf(string text, byte[]? digest)
    {
        if (text.StartsWith(ConflictKindPrefix, StringComparison.Ordinal))
        {
            return digest is not null && text == Of(LedgerKind.Conflict, digest) ? LedgerKind.Conflict : null;
        }

        return KindsByText.TryGetValue(text, out var kind) ? kind : null;
    }

    /// <summary>The outcome (and a consent entry's version) stored as <paramref name="text"/>, or null when the ledger writes no such text.</summary>
    public static (LedgerOutcome Outcome, int? Version)? OutcomeOf(string text)
    {
        if (text.StartsWith(VersionPrefix, StringComparison.Ordinal))
        {
            var digits = text[VersionPrefix.Length..];
            // Only the form Of writes ("version 12", never "version 012" or "version +12"), so the text round-trips.
            return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && Of(LedgerOutcome.Version, version) == text
                ? (LedgerOutcome.Version, version)
                : null;
        }

        return OutcomesByText.TryGetValue(text, out var outcome) ? (outcome, null) : null;
    }
}

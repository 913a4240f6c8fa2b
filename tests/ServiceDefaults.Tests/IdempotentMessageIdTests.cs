using FamiljecentralHub.ServiceDefaults.Disclosures;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>A keyed message id is the sending unit's alone: the gate derives it again from the unit and the key's digest.</summary>
public sealed class IdempotentMessageIdTests
{
    [Fact]
    public void For_AKey_IsPinned()
    {
        // The form is stored in every ledger, inbox and status view: changing it is a new version, never an edit.
        IdempotentMessageId.For("rosengard-bvc", "referral-0042").ShouldBe(Guid.Parse("3d8617c5-63e2-8757-9292-0882dd2f4b0e"), "SHA-256 of \"hub-message-id/2\\n<unit>\\n<hex SHA-256 of the key>\", version 8");
    }

    [Fact]
    public void BelongsTo_ItsUnitAndDigest_Only()
    {
        var id = IdempotentMessageId.For("rosengard-bvc", "referral-0042");
        var digest = IdempotentMessageId.KeyDigest("referral-0042");

        id.Version.ShouldBe(8);
        IdempotentMessageId.BelongsTo(id, "rosengard-bvc", digest).ShouldBeTrue();
        IdempotentMessageId.BelongsTo(id, "rosengard-oppna-forskolan", digest).ShouldBeFalse("another unit with the guessed key's digest");
        IdempotentMessageId.BelongsTo(id, "rosengard-bvc", IdempotentMessageId.KeyDigest("referral-0043")).ShouldBeFalse();
        IdempotentMessageId.BelongsTo(id, "rosengard-bvc", null).ShouldBeFalse("a keyed id without its digest");
        IdempotentMessageId.BelongsTo(id, "rosengard-bvc", digest[..16]).ShouldBeFalse("a digest cut short");
    }

    [Fact]
    public void BelongsTo_AnIdWithoutAKey_AnyUnit()
    {
        // Random: no one can compute it ahead of its message, so no digest is asked for.
        IdempotentMessageId.BelongsTo(IdempotentMessageId.For("rosengard-bvc", null), "rosengard-oppna-forskolan", null).ShouldBeTrue();
        IdempotentMessageId.For("rosengard-bvc", null).Version.ShouldBe(7);
    }
}

using FamiljecentralHub.ServiceDefaults.Data;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>The ids are stored (ledger entries, sweeps, notices' delivery ids): the derivation must never change.</summary>
public sealed class NameBasedIdTests
{
    [Theory]
    [InlineData("late-withdrawal:00000000000000000000000000000001", "35863bff-02ea-83da-a23d-ed9be85ad715")]
    [InlineData("consent-version:0123456789abcdef0123456789abcdef:2", "091ed065-fec9-8cc2-9c90-f274085364ad")]
    public void Of_AName_IsTheIdItAlwaysWas(string name, string id)
    {
        var derived = NameBasedId.Of(name);

        derived.ShouldBe(Guid.Parse(id));
        derived.Version.ShouldBe(8);
        (derived.Variant & 0b1100).ShouldBe(0b1000, "the RFC 9562 variant");
    }
}

using System.Text.Json;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Operations.Tests;
using Npgsql;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>
/// The reason an error copy and the error-queue listing give: the exception's type, and a message only where the hub
/// wrote every word of it. Each exception here quotes an identity number in its message, as real ones may.
/// </summary>
public sealed class FaultReasonTests
{
    private const string Subject = TestOrganisation.Child;

    [Fact]
    public void Describe_PostgresError_GivesTheTypeAndSqlStateOnly()
    {
        var error = new PostgresException($"new row violates check constraint \"x_{Subject}\"", "ERROR", "ERROR", PostgresErrorCodes.CheckViolation);

        FaultReason.Describe(error).ShouldBe("Npgsql.PostgresException: SQLSTATE 23514 CheckViolation");
    }

    [Fact]
    public void Describe_PostgresErrorWrapped_GivesTheOuterTypeAndTheInnerSqlState()
    {
        var error = new InvalidOperationException($"writing {Subject} failed",
            new PostgresException("duplicate", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation));

        FaultReason.Describe(error).ShouldBe("System.InvalidOperationException: SQLSTATE 23505 UniqueViolation");
    }

    [Fact]
    public void Describe_RaisedWithAStateOfItsOwn_GivesTheStateWithoutAName()
    {
        var error = new PostgresException($"raised for {Subject}", "ERROR", "ERROR", "HUB01");

        FaultReason.Describe(error).ShouldBe("Npgsql.PostgresException: SQLSTATE HUB01");
    }

    [Fact]
    public void Describe_AnyOtherException_GivesTheTypeAlone()
    {
        FaultReason.Describe(new JsonException($"'{Subject}' is not a valid value")).ShouldBe("System.Text.Json.JsonException");
        FaultReason.Describe(new AggregateException(new FormatException(Subject))).ShouldBe("System.FormatException");
    }

    /// <summary>What a consumer's PostgreSQL error becomes on its way out: its code alone, listed as the error it was.</summary>
    [Fact]
    public void MetadataOnlyPostgresException_ForAPostgresError_KeepsTheStateAndTransienceAndNothingElse()
    {
        var error = new InvalidOperationException("writing failed", new PostgresException(
            $"invalid input for {Subject}", "ERROR", "ERROR", PostgresErrorCodes.UntranslatableCharacter,
            detail: $"the row of {Subject}", where: $"unnamed portal parameter $3 = '{Subject}'"));

        var metadataOnly = MetadataOnlyPostgresException.For(error).ShouldNotBeNull();

        metadataOnly.Message.ShouldBe("SQLSTATE 22P05 UntranslatableCharacter");
        metadataOnly.InnerException.ShouldBeNull();
        metadataOnly.IsTransient.ShouldBeFalse();
        metadataOnly.ToString().ShouldNotContain(Subject);
        FaultReason.Describe(metadataOnly).ShouldBe("Npgsql.PostgresException: SQLSTATE 22P05 UntranslatableCharacter");
        MetadataOnlyPostgresException.For(new PostgresException("deadlock", "ERROR", "ERROR", PostgresErrorCodes.DeadlockDetected))
            .ShouldNotBeNull().IsTransient.ShouldBeTrue("the retry policy keeps retrying what it retried before");
        MetadataOnlyPostgresException.For(new JsonException(Subject)).ShouldBeNull();
    }

    [Fact]
    public void Describe_MetadataOnlyException_GivesTheTypeAndItsMessage() =>
        FaultReason.Describe(new MetadataOnlyException("The ledger writer has stopped."))
            .ShouldBe("FamiljecentralHub.ServiceDefaults.Messaging.MetadataOnlyException: The ledger writer has stopped.");
}

using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks;

public sealed record WebhookRegistration(string? Url);

/// <summary>The answer to a registration: the signing secret (base64 of 32 bytes) is shown this once and never again.</summary>
public sealed record RegisteredWebhook(string Url, string Secret, DateTimeOffset RegisteredAt);

public sealed record WebhookInfo(string Url, DateTimeOffset RegisteredAt);

internal static class WebhookApi
{
    public static void MapWebhookApi(this RouteGroupBuilder units)
    {
        units.MapPut("/webhook", Register)
            .WithSummary("Registers the unit's webhook: an HTTPS address pushed each waiting inbox item whole (signed), as the inbox returns it.");
        units.MapGet("/webhook", Get)
            .WithSummary("The unit's webhook registration, without its secret.");
        units.MapDelete("/webhook", Remove)
            .WithSummary("Removes the unit's webhook.");
    }

    /// <summary>
    /// Registering again replaces the URL and the secret (that is how a secret is rotated), and makes everything still
    /// owed to the unit due at once, so a system that fixed its receiver need not wait out the backoff.
    /// </summary>
    private static async Task<Results<Ok<RegisteredWebhook>, ValidationProblem>> Register(
        string unitId, WebhookRegistration registration, WebhookTargetPolicy policy, NpgsqlDataSource db, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        // The answer names the rule, never the URL or what it resolved to: no echo, and no map of the network behind.
        var error = policy.CheckUrl(registration.Url, out var uri) ?? await policy.CheckRegistrationAsync(uri!, cancellationToken);
        if (error is not null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["url"] = [error] });
        }

        var url = registration.Url!;
        var secret = RandomNumberGenerator.GetBytes(32);
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO webhooks (receiving_unit, url, secret, registered_at) VALUES (@unitId, @url, @secret, @now)
            ON CONFLICT (receiving_unit) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, registered_at = EXCLUDED.registered_at
            """,
            new { unitId, url, secret, now }, tx);
        await connection.ExecuteAsync(
            "UPDATE inbox SET next_push_at = NULL, push_attempts = 0 WHERE receiving_unit = @unitId AND fetched_at IS NULL AND next_push_at IS NOT NULL",
            new { unitId }, tx);
        await connection.ExecuteAsync(
            "UPDATE revocation_notices SET next_push_at = NULL, push_attempts = 0 WHERE receiving_unit = @unitId AND pushed_at IS NULL AND next_push_at IS NOT NULL",
            new { unitId }, tx);
        await tx.CommitAsync(cancellationToken);
        return TypedResults.Ok(new RegisteredWebhook(url, Convert.ToBase64String(secret), now));
    }

    private static async Task<Results<Ok<WebhookInfo>, ProblemHttpResult>> Get(string unitId, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var hook = await connection.QuerySingleOrDefaultAsync<HookRow>(new CommandDefinition(
            "SELECT url AS Url, registered_at AS RegisteredAt FROM webhooks WHERE receiving_unit = @unitId",
            new { unitId }, cancellationToken: cancellationToken));
        return hook is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No webhook", detail: "This unit has no webhook registered; it pulls its inbox.")
            : TypedResults.Ok(new WebhookInfo(hook.Url, hook.RegisteredAt));
    }

    /// <summary>Idempotent. What is not yet fetched simply stays in the inbox for the system to pull.</summary>
    private static async Task<NoContent> Remove(string unitId, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM webhooks WHERE receiving_unit = @unitId", new { unitId }, cancellationToken: cancellationToken));
        return TypedResults.NoContent();
    }

    // Dapper fills properties; the secret is not even read.
    private sealed class HookRow
    {
        public string Url { get; init; } = "";
        public DateTimeOffset RegisteredAt { get; init; }
    }
}

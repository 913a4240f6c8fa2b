using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FamiljecentralHub.ServiceDefaults.Health;

/// <summary>
/// A health answer a probe and a person can both read: the overall state and each dependency's, as JSON. Only names and
/// states: a check's description or exception could carry a connection string or a database's error text.
/// </summary>
public static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1) }),
        }, cancellationToken: context.RequestAborted);
    }
}

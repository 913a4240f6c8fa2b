using System.Text;
using FamiljecentralHub.LocalHub;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// What a cluster test that timed out leaves behind: the hub's state directory is gone once the fixture is disposed, so
/// the failure message carries what the broker holds in each queue and what each service logged at warning and above
/// (the services log metadata and pseudonyms only).
/// </summary>
internal static class ClusterDiagnostics
{
    public static async Task<string> DescribeAsync(Hub hub, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        try
        {
            var answering = hub.RabbitNodes.First(node => node.BeamPid is not null);
            var queues = await answering.GetManagementAsync(
                $"queues/{Uri.EscapeDataString(hub.VirtualHost)}?columns=name,leader,online,messages_ready,messages_unacknowledged,consumers", cancellationToken);
            text.AppendLine("Queues (ready, unacknowledged, consumers, leader, online members):");
            foreach (var queue in queues.EnumerateArray())
            {
                text.AppendLine($"  {Text(queue, "name")}: {Text(queue, "messages_ready")}, {Text(queue, "messages_unacknowledged")}, {Text(queue, "consumers")}, {Text(queue, "leader")}, [{Text(queue, "online")}]");
            }
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or LocalHubException or TaskCanceledException)
        {
            text.AppendLine($"Queues: the broker could not be asked ({e.GetType().Name}).");
        }

        foreach (var service in hub.Services.Values)
        {
            text.AppendLine($"{service.Name}: restarted by itself {service.Restarts} times; its last warnings and errors:");
            try
            {
                foreach (var entry in WarningsOf(service.LogPath).TakeLast(12))
                {
                    text.AppendLine($"  {entry}");
                }
            }
            catch (IOException e)
            {
                text.AppendLine($"  its log could not be read ({e.GetType().Name}).");
            }
        }
        return text.ToString();
    }

    private static string Text(System.Text.Json.JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.ToString() : "?";

    /// <summary>Each entry at warning or above as its level, category and first line of message (no stack traces).</summary>
    private static IEnumerable<string> WarningsOf(string logPath)
    {
        if (!File.Exists(logPath))
        {
            yield break;
        }
        using var reader = new StreamReader(new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        string? header = null;
        while (reader.ReadLine() is { } line)
        {
            if (header is not null)
            {
                yield return $"{header} {line.Trim()}";
                header = null;
            }
            if ((line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
                && !line.Contains("DataProtection", StringComparison.Ordinal))
            {
                header = line.Trim();
            }
        }
    }
}

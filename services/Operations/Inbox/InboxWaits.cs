using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Operations.Inbox;

public sealed class InboxWaitOptions
{
    public const string Section = "Inbox";

    /// <summary>The longest a listing may ask to wait for its first message (<c>wait</c>, whole seconds).</summary>
    public int MaxWaitSeconds { get; set; } = 20;

    /// <summary>
    /// How many listings of this instance may wait at once; one more answers at once, as without <c>wait</c>. Each waiting
    /// listing holds one of the gateway's connections to this instance (<c>Gateway:Limits:ConnectionsPerInstance</c>),
    /// so this stays well below that pool, and the other requests keep theirs.
    /// </summary>
    public int MaxWaiting { get; set; } = 8;

    /// <summary>
    /// How many of those may wait for one unit's inbox: without a share per unit, one receiving system holding every
    /// waiting listing made every other unit's listings answer at once.
    /// </summary>
    public int MaxWaitingPerUnit { get; set; } = 2;

    /// <summary>
    /// How often a waiting listing looks again without being woken: a delivery stored by another instance of this
    /// service wakes no listing here.
    /// </summary>
    public TimeSpan LookAgainEvery { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Lets a receiving system's listing of an empty inbox wait for its first message (<c>?wait=</c> seconds) instead of
/// answering empty at once and being asked again a few milliseconds later: an empty poll costs a TLS request through
/// the gateway, a service request and a database round trip, and a receiver that polls often pays that all day
/// (docs/benchmarks.md). A delivery stored here wakes the listings waiting on its unit; a listing looks again every
/// <see cref="InboxWaitOptions.LookAgainEvery"/> whatever happens, and never waits longer than it asked.
/// </summary>
internal sealed class InboxWaits(IOptions<InboxWaitOptions> options)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> next = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> waitingFor = new(StringComparer.Ordinal);
    private int waiting;

    public InboxWaitOptions Options => options.Value;

    /// <summary>
    /// Completes when this instance next stores a delivery for <paramref name="unitId"/>. Taken before the inbox is read,
    /// so that a delivery committed between the read and the wait is not slept through.
    /// </summary>
    public Task NextDelivery(string unitId) =>
        next.GetOrAdd(unitId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>A delivery for <paramref name="unitId"/> was committed: every listing waiting on the unit reads again.</summary>
    public void Delivered(string unitId)
    {
        if (next.TryRemove(unitId, out var delivered))
        {
            delivered.TrySetResult();
        }
    }

    /// <summary>
    /// One more listing waiting for <paramref name="unitId"/>, unless <see cref="InboxWaitOptions.MaxWaiting"/> already
    /// wait, or <see cref="InboxWaitOptions.MaxWaitingPerUnit"/> for that unit.
    /// </summary>
    public bool TryEnter(string unitId)
    {
        if (Interlocked.Increment(ref waiting) > options.Value.MaxWaiting)
        {
            Interlocked.Decrement(ref waiting);
            return false;
        }

        if (waitingFor.AddOrUpdate(unitId, 1, static (_, n) => n + 1) > options.Value.MaxWaitingPerUnit)
        {
            Leave(unitId);
            return false;
        }

        return true;
    }

    public void Leave(string unitId)
    {
        waitingFor.AddOrUpdate(unitId, 0, static (_, n) => n - 1);
        Interlocked.Decrement(ref waiting);
    }
}

internal static class InboxWaitsExtensions
{
    public static IServiceCollection AddInboxWaits(this IServiceCollection services)
    {
        services.AddOptions<InboxWaitOptions>().BindConfiguration(InboxWaitOptions.Section)
            .Validate(o => o.MaxWaitSeconds is >= 0 and <= 60 && o.MaxWaiting >= 0 && o.MaxWaitingPerUnit >= 0 && o.LookAgainEvery > TimeSpan.Zero,
                "Inbox: MaxWaitSeconds from 0 to 60, MaxWaiting and MaxWaitingPerUnit not negative, LookAgainEvery positive.")
            .ValidateOnStart();
        services.AddSingleton<InboxWaits>();
        return services;
    }
}

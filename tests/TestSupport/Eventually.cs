namespace FamiljecentralHub.Tests.Support;

/// <summary>
/// Waits for something the hub does asynchronously: asks again at an interval until it is so, or fails with a message
/// that says what was awaited and what was last seen. One helper instead of a deadline loop in every test.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Until <paramref name="condition"/> holds; then returns.</summary>
    /// <exception cref="TimeoutException">With <paramref name="failure"/>, when it did not hold within <paramref name="timeout"/>.</exception>
    public static async Task TrueAsync(
        Func<Task<bool>> condition, TimeSpan timeout, string failure, TimeSpan? interval = null, CancellationToken cancellationToken = default) =>
        await GetAsync(async () => await condition() ? true : (bool?)null, timeout, _ => failure, interval, cancellationToken);

    /// <summary>Until <paramref name="probe"/> gives a value (not null); returns it.</summary>
    /// <param name="failure">The message when time is up, given the probe's last answer (null when it never answered).</param>
    public static async Task<T> GetAsync<T>(
        Func<Task<T?>> probe, TimeSpan timeout, Func<T?, string> failure, TimeSpan? interval = null, CancellationToken cancellationToken = default)
        where T : struct
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(failure(default));
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }

    /// <summary>Until <paramref name="probe"/> gives a value whose <paramref name="done"/> holds; returns it.</summary>
    /// <param name="failure">The message when time is up, given the last value seen (default when there was none).</param>
    public static async Task<T> MatchAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Func<T?, string> failure, TimeSpan? interval = null,
        CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        T? last = default;
        while (true)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(failure(last));
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }

    /// <summary>
    /// As <see cref="MatchAsync"/>, for state read without waiting (a supervisor's counters). A name of its own: as an
    /// overload it would make a probe that returns a task, with a test such as <c>x is not null</c>, ambiguous.
    /// </summary>
    public static Task<T> MatchStateAsync<T>(
        Func<T> probe, Func<T, bool> done, TimeSpan timeout, Func<T?, string> failure, TimeSpan? interval = null,
        CancellationToken cancellationToken = default) =>
        MatchAsync(() => Task.FromResult(probe()), done, timeout, failure, interval, cancellationToken);

    /// <summary>
    /// Until <paramref name="probe"/> gives a value whose <paramref name="done"/> holds; returns it, or, when time is up,
    /// the last value seen without failing. For a wait whose caller judges what it gets with assertions of its own (a
    /// listing that may lag, a hub that may not settle), so that the wait adds no verdict the test did not ask for.
    /// </summary>
    public static async Task<T> MatchOrLastAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var last = await probe();
            if (done(last) || DateTime.UtcNow >= deadline)
            {
                return last;
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }

    /// <summary>
    /// That something stays so: asks <paramref name="probe"/> at an interval for <paramref name="duration"/>, and fails at
    /// the first value for which <paramref name="stays"/> does not hold (a wedge reported for a busy endpoint, a 202 while
    /// nothing can be confirmed), without waiting out the rest.
    /// </summary>
    /// <exception cref="ShouldAssertException">With <paramref name="failure"/> of the value that broke it.</exception>
    public static async Task StaysAsync<T>(
        Func<Task<T>> probe, Func<T, bool> stays, TimeSpan duration, Func<T, string> failure, TimeSpan? interval = null,
        CancellationToken cancellationToken = default)
    {
        var end = DateTime.UtcNow + duration;
        while (true)
        {
            var value = await probe();
            if (!stays(value))
            {
                throw new ShouldAssertException(failure(value));
            }

            if (DateTime.UtcNow >= end)
            {
                return;
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }
}

using MassTransit;
using Npgsql;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// A PostgreSQL error with everything but its SQLSTATE left behind. PostgreSQL's error carries the failing row
/// (Detail), the context that quotes the value it refused (Where: "JSON data, line 1: …", "unnamed portal parameter
/// $3 = '…'") and the statement, and whatever logs, traces or stores an exception (MassTransit's fault log and fault
/// headers, ASP.NET Core's unhandled-exception log, a span's exception event) would copy them. This one says only
/// what an operator needs: the condition, by code and name. It stays an <see cref="NpgsqlException"/> and keeps
/// <see cref="IsTransient"/>, so the retry policy treats it exactly as the error it replaces.
/// </summary>
public sealed class MetadataOnlyPostgresException(string sqlState, bool isTransient)
    : NpgsqlException(FaultReason.DescribeSqlState(sqlState))
{
    public override string SqlState { get; } = sqlState;

    public override bool IsTransient { get; } = isTransient;

    /// <summary>The replacement for an exception that is or wraps a PostgreSQL error; null for any other.</summary>
    public static MetadataOnlyPostgresException? For(Exception exception) =>
        FaultReason.PostgresErrorIn(exception) is { } postgres ? new MetadataOnlyPostgresException(postgres.SqlState, postgres.IsTransient) : null;
}

/// <summary>
/// Replaces a PostgreSQL error thrown by a consumer with a <see cref="MetadataOnlyPostgresException"/> before MassTransit
/// sees it: it sits between MassTransit's consumer filter, which logs a fault with its exception and hands it to the
/// retry policy and the error queue, and the consumer itself.
/// </summary>
internal sealed class DatabaseErrorFilter<TContext> : IFilter<TContext>
    where TContext : class, PipeContext
{
    public async Task Send(TContext context, IPipe<TContext> next)
    {
        try
        {
            await next.Send(context);
        }
        catch (Exception e) when (e is not MetadataOnlyPostgresException && MetadataOnlyPostgresException.For(e) is { } metadataOnly)
        {
            throw metadataOnly;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("metadataOnlyDatabaseErrors");
}

/// <summary>Puts a <see cref="DatabaseErrorFilter{TContext}"/> in front of every consumer of the endpoint it is connected to.</summary>
internal sealed class DatabaseErrorFilters : IConsumerConfigurationObserver
{
    public void ConsumerConfigured<TConsumer>(IConsumerConfigurator<TConsumer> configurator)
        where TConsumer : class =>
        configurator.UseFilter(new DatabaseErrorFilter<ConsumerConsumeContext<TConsumer>>());

    public void ConsumerMessageConfigured<TConsumer, TMessage>(IConsumerMessageConfigurator<TConsumer, TMessage> configurator)
        where TConsumer : class
        where TMessage : class
    {
    }
}

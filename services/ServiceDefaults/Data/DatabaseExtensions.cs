using System.Reflection;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FamiljecentralHub.ServiceDefaults.Data;

/// <summary>
/// One PostgreSQL database per service, its schema made by the service's own scripts through its <c>migrate</c> command
/// (<see cref="MigrateCommand"/>) with the migration role; the service logs in with a run-time role that may not change it.
/// </summary>
public static class DatabaseExtensions
{
    /// <summary>Dapper's conversions the hub relies on; idempotent.</summary>
    public static void RegisterTypeHandlers()
    {
        // Dapper looks in its own type map before the handlers when it writes a parameter: without these two lines the
        // handler only reads, a DateTimeOffset goes to Npgsql as it came, and one with an offset other than zero (a
        // Swedish system's local time) is refused there with a 500.
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
    }

    /// <summary>
    /// The service's data source: no error detail and no parameter values in anything Npgsql reports, whatever the
    /// connection string says. A failing row or parameter holds what the service was sent (a guardian's name, staff's
    /// words), and an exception's text reaches logs and traces (docs/error-queues.md).
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.IncludeErrorDetail = false;
        builder.EnableParameterLogging(false);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return builder.Build();
    }

    /// <summary>Connections one service process keeps at most, unless its connection string says otherwise.</summary>
    public const int MaxPoolSize = 20;

    /// <summary>
    /// Registers the service's NpgsqlDataSource and a start-up step that checks the numbered scripts embedded in
    /// <paramref name="migrations"/> (<see cref="SchemaMigrations"/>) have all been applied, refusing to start otherwise
    /// (<see cref="SchemaCheck"/>). Call it before AddHubMessaging and the service's own workers: hosted services start in
    /// order, so consumers only begin on the schema they were built for. A database that is down at start delays the
    /// service; it does not crash it.
    /// </summary>
    public static IHostApplicationBuilder AddHubDatabase(this IHostApplicationBuilder builder, Assembly migrations)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(builder.Configuration.GetConnectionString("Database")
            ?? throw new InvalidOperationException("ConnectionStrings:Database is not set."));
        // The same few statements run for every message: prepared once per connection, PostgreSQL stops parsing and
        // planning them each time (measured: most of the database's CPU per message).
        if (connectionString.MaxAutoPrepare == 0)
        {
            connectionString.MaxAutoPrepare = 32;
        }

        // The services set no session state, so a pooled connection needs no reset round trip when it is returned.
        connectionString.NoResetOnClose = true;

        // Npgsql's default pool (100) times every process of a hub, each consumer taking a connection per message,
        // outgrows the server's max_connections under a burst (two instances of every service: "too many clients",
        // and a restarted service cannot even start). Past this many, a message waits for a pooled connection instead.
        // (Npgsql's builder answers ContainsKey for every keyword it knows, set or not: ask the text itself.)
        var configured = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.Configuration.GetConnectionString("Database") };
        if (!configured.Keys.Cast<string>().Any(k => k.Replace(" ", "", StringComparison.Ordinal) is var key
                && (key.Equals("MaxPoolSize", StringComparison.OrdinalIgnoreCase) || key.Equals("MaximumPoolSize", StringComparison.OrdinalIgnoreCase))))
        {
            connectionString.MaxPoolSize = MaxPoolSize;
        }

        RegisterTypeHandlers();
        builder.Services.AddSingleton(_ => CreateDataSource(connectionString.ConnectionString));
        builder.Services.AddHostedService(sp => new SchemaCheck(
            sp.GetRequiredService<NpgsqlDataSource>(), migrations, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        // The database's spans and meters join the providers AddHubTelemetry set up; they live here so that a host
        // without a database (the gateway) does not carry Npgsql.
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddNpgsqlInstrumentation());
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddNpgsql());
        return builder;
    }
}

internal sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (NpgsqlException)
        {
            return HealthCheckResult.Unhealthy("database unreachable");
        }
    }
}

/// <summary>
/// PostgreSQL's timestamptz is an instant; Npgsql reads it as a UTC DateTime. The hub speaks DateTimeOffset
/// throughout, so Dapper converts both ways here, once.
/// </summary>
internal sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
{
    public override void SetValue(System.Data.IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.UtcDateTime;

    public override DateTimeOffset Parse(object value) => value switch
    {
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        DateTimeOffset o => o,
        _ => throw new InvalidCastException($"Cannot read {value.GetType().Name} as DateTimeOffset."),
    };
}

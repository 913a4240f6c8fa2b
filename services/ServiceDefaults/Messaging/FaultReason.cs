using System.Reflection;
using System.Text.RegularExpressions;
using Npgsql;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// Thrown by the hub's own code with a message built only from constants and identifiers (message ids, unit ids,
/// broker names), never from personal data or message content: the one kind of exception whose message an error copy
/// and the error-queue listing may show.
/// </summary>
public class MetadataOnlyException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Why a message faulted, in words that cannot carry personal data, for its error copy and the error-queue listing
/// (docs/error-queues.md). An exception's message is written by whoever threw it and often quotes what it was given:
/// a JSON or format error repeats the value, a database error may describe the failing row. So the reason is the
/// exception's type, and a message only where the hub controls every word of it:
/// <list type="bullet">
/// <item>a <see cref="MetadataOnlyException"/>: the type and its message;</item>
/// <item>a PostgreSQL error (<see cref="PostgresException"/>, also as an inner exception): the type and its SQLSTATE,
/// five characters from a fixed table, with the condition's name from Npgsql's own list. Not the message, detail,
/// table or constraint: a trigger may raise an error with any of them set from the row's values;</item>
/// <item>anything else: the type alone.</item>
/// </list>
/// </summary>
public static partial class FaultReason
{
    /// <summary>The header on an error copy that holds <see cref="Describe"/>'s reason.</summary>
    public const string Header = "Hub-Fault-Reason";

    private static readonly Dictionary<string, string> Conditions = typeof(PostgresErrorCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.IsLiteral && field.FieldType == typeof(string))
        .GroupBy(field => (string)field.GetRawConstantValue()!)
        .ToDictionary(codes => codes.Key, codes => codes.First().Name);

    public static string Describe(Exception exception)
    {
        var shown = exception is AggregateException { InnerExceptions: [var single] } ? single : exception;
        var type = shown.GetType().FullName ?? shown.GetType().Name;
        if (PostgresErrorIn(shown) is { } postgres)
        {
            return $"{type}: {DescribeSqlState(postgres.SqlState)}";
        }

        // What a consumer's PostgreSQL error became on its way out (DatabaseErrorFilter): listed as the error it was.
        if (MetadataOnlyPostgresErrorIn(shown) is { } metadataOnly)
        {
            return $"{typeof(PostgresException).FullName}: {DescribeSqlState(metadataOnly.SqlState)}";
        }

        return shown is MetadataOnlyException ? $"{type}: {shown.Message}" : type;
    }

    /// <summary>"SQLSTATE 23514 CheckViolation": the code, five characters from a fixed alphabet, and Npgsql's name for it.</summary>
    public static string DescribeSqlState(string sqlState)
    {
        var state = SqlState().IsMatch(sqlState) ? sqlState : "?????";
        return Conditions.TryGetValue(state, out var condition) ? $"SQLSTATE {state} {condition}" : $"SQLSTATE {state}";
    }

    /// <summary>The PostgreSQL error an exception is or wraps, at any depth.</summary>
    public static PostgresException? PostgresErrorIn(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return postgres;
            }
        }

        return null;
    }

    private static MetadataOnlyPostgresException? MetadataOnlyPostgresErrorIn(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is MetadataOnlyPostgresException metadataOnly)
            {
                return metadataOnly;
            }
        }

        return null;
    }

    [GeneratedRegex("^[0-9A-Z]{5}$")]
    private static partial Regex SqlState();
}

using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace FamiljecentralHub.Tests.Support;

/// <summary>
/// The plan PostgreSQL keeps for a statement the services send: they prepare their statements (Max Auto Prepare), and
/// after a few runs PostgreSQL keeps one generic plan, blind to the parameters' values. An EXPLAIN with bound values
/// would plan with them, so the statement is prepared as the service sends it (its <c>@name</c> parameters as
/// <c>$n</c>) and explained under <c>force_generic_plan</c>.
/// </summary>
public static partial class GenericPlan
{
    /// <summary>The plan's nodes, top first, and its JSON for a failure message.</summary>
    /// <param name="parameters">Each parameter's SQL type and a literal value to execute it with.</param>
    /// <param name="analyze">Execute it too (inside <paramref name="transaction"/>, which the caller rolls back).</param>
    public static async Task<(IReadOnlyList<JsonElement> Nodes, string Json)> ExplainAsync(
        NpgsqlConnection connection, string sql, IReadOnlyDictionary<string, (string Type, string Value)> parameters,
        bool analyze = false, NpgsqlTransaction? transaction = null)
    {
        var names = ParameterName().Matches(sql).Select(m => m.Groups[1].Value).Distinct().ToList();
        var prepared = ParameterName().Replace(sql, m => "$" + (names.IndexOf(m.Groups[1].Value) + 1));
        string List(Func<string, string> each) => names.Count == 0 ? "" : $"({string.Join(", ", names.Select(each))})";
        await connection.ExecuteAsync(
            $"SET plan_cache_mode = force_generic_plan; PREPARE under_test {List(n => parameters[n].Type)} AS {prepared}", transaction: transaction);
        var json = await connection.ExecuteScalarAsync<string>(
            $"EXPLAIN ({(analyze ? "ANALYZE, " : "")}FORMAT JSON) EXECUTE under_test {List(n => parameters[n].Value)}", transaction: transaction);
        await connection.ExecuteAsync("DEALLOCATE under_test", transaction: transaction);
        return ([.. Nodes(JsonDocument.Parse(json!).RootElement[0].GetProperty("Plan"))], json!);
    }

    [GeneratedRegex(@"@(\w+)")]
    private static partial Regex ParameterName();

    private static IEnumerable<JsonElement> Nodes(JsonElement node) =>
        node.TryGetProperty("Plans", out var children) ? [node, .. children.EnumerateArray().SelectMany(Nodes)] : [node];
}

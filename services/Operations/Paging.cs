using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FamiljecentralHub.Operations;

/// <summary>
/// The paging parameters of the listings. A cursor that does not parse is refused, not ignored: ignoring it would
/// silently start the listing again from the beginning.
/// </summary>
internal static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static ValidationProblem? CheckLimit(int? limit) => limit is null or (>= 1 and <= MaxLimit)
        ? null
        : Problem("limit", $"must be from 1 to {MaxLimit}");

    public static ValidationProblem Problem(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "The query is not valid");
}

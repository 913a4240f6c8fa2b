using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// The message types one operation service sends. Each is posted to <c>/units/{unitId}/{route}</c> and goes through
/// the same machinery (<see cref="SendingApi"/>): validation, idempotency key, the gate, 202 or 503.
/// </summary>
public sealed class Vocabulary
{
    private readonly List<(string Route, Action<RouteGroupBuilder> Map)> messages = [];

    public IReadOnlyList<string> Routes => messages.Select(m => m.Route).ToList();

    public Vocabulary Speaks<TRequest>() where TRequest : DisclosureRequest, IMessageType
    {
        if (messages.Any(m => m.Route == TRequest.Route))
        {
            throw new InvalidOperationException($"The vocabulary already has {TRequest.Route}.");
        }

        messages.Add((TRequest.Route, units =>
        {
            units.MapPost($"/{TRequest.Route}", SendingApi.SubmitAsync<TRequest>)
                .WithSummary($"Sends a message of type {TRequest.Route} from the unit: the gate decides it; 202 with the status address.");
        }));
        return this;
    }

    internal void MapTo(RouteGroupBuilder units)
    {
        foreach (var (_, map) in messages)
        {
            map(units);
        }
    }
}

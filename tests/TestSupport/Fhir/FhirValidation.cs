using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace FamiljecentralHub.Tests.Support.Fhir;

/// <summary>
/// Reads an export with Firely's strict R4 parser and validates it with Firely's validator against the R4 core
/// specification (the StructureDefinitions of Hl7.Fhir.Specification.Data.R4): cardinality, types, fixed values and every
/// core invariant. Terminology is checked locally, so only the value sets the specification itself carries.
/// </summary>
public static class FhirValidation
{
    private static readonly Lazy<Validator> Shared = new(() =>
    {
        var source = new CachedResolver(ZipSource.CreateValidationSource());
        return new Validator(source.AsAsync(), new LocalTerminologyService(source.AsAsync()));
    });

    /// <summary>
    /// One validation at a time: the validator loads and caches the specification's profiles as it meets them, and two
    /// test classes validating at once made it fail inside that loading ("Unable to resolve reference to profile … Index
    /// was out of range") now and then.
    /// </summary>
    private static readonly Lock OneAtATime = new();

    public static T Parse<T>(string json) where T : Resource => new FhirJsonDeserializer().Deserialize<T>(json);

    /// <summary>The error and fatal issues the validator finds in the resource, as lines a failing test can show.</summary>
    public static IReadOnlyList<string> Errors(Resource resource)
    {
        OperationOutcome outcome;
        lock (OneAtATime)
        {
            outcome = Shared.Value.Validate(resource);
        }

        return
        [
            .. outcome.Issue
                .Where(issue => issue.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
                .Select(issue => $"{issue.Severity} {issue.Code}: {issue.Details?.Text} at {string.Join(", ", issue.Expression)}"),
        ];
    }
}

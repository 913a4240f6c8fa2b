using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>Who asks for the log extract: the subject, or a guardian on the child's behalf (domain.md section 7).</summary>
public enum ExtractRequester
{
    Subject,
    Guardian,
}

/// <summary>
/// A request for the family's log extract. The identity number travels in the body, never in the URL (which the gateway,
/// proxies and access logs see).
/// </summary>
/// <param name="ProtectedIdentity">
/// Whether the subject has protected identity (skyddade personuppgifter). The hub keeps no such fact, so the staff who
/// handle the request say so, for a guardian's request always; a child with protected identity is never served by proxy.
/// </param>
/// <param name="Assessed">
/// Staff have assessed that the extract may be given, where domain.md section 7 asks for an assessment: a guardian's
/// request about a child of 13 or more, or a child's own request before 16.
/// </param>
/// <param name="AssessmentReference">Where the assessment is documented (a journal reference); required with <paramref name="Assessed"/>.</param>
/// <param name="RequestedBy">The staff member who handles the request, by HSA id.</param>
public sealed record LogExtractRequest(
    string? SubjectId,
    ExtractRequester? Requester,
    bool? ProtectedIdentity,
    bool? Assessed,
    string? AssessmentReference,
    string? RequestedBy);

/// <summary>Marks a flagged disclosure reviewed. The note is the reviewer's own words: personal data, kept in the consent database only.</summary>
public sealed record ReviewRequest(string? Note, string? ReviewedBy);

/// <summary>
/// A log follow-up of one unit over a period (logguppföljning). <paramref name="Seed"/> repeats an earlier draw; without
/// it the hub draws one and returns it.
/// </summary>
public sealed record FollowUpRequest(string? Unit, DateTimeOffset? From, DateTimeOffset? To, int? SampleSize, long? Seed, string? RequestedBy);

/// <summary>
/// Fixed phrases naming the field, limits and registry ids: never what the caller sent (a number, a note).
/// </summary>
public sealed class AccountabilityValidator(OrganisationRegistry registry)
{
    public const int MaxNote = 2_000;
    public const int MaxReference = 200;
    public const int MaxSampleSize = 500;
    public const int DefaultSampleSize = 20;

    /// <summary>A period of the follow-up is at most this long, so one request reads a bounded part of the ledger.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    /// <summary>Seeds are whole numbers a JSON reader of any language keeps exactly (below 2^53).</summary>
    public const long MaxSeed = (1L << 53) - 1;

    public (Problems Problems, PersonalIdentityNumber? Subject) ValidateExtract(LogExtractRequest? r)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the request as a JSON object");
            return (problems, null);
        }

        PersonalIdentityNumber? subject = null;
        if (string.IsNullOrWhiteSpace(r.SubjectId))
        {
            problems.Add("subjectId", "give the subject's personal identity or co-ordination number");
        }
        else if (r.SubjectId.Length > 20 || !PersonalIdentityNumber.TryParse(r.SubjectId, out var number, out var error))
        {
            problems.Add("subjectId", r.SubjectId.Length > 20 ? "may be at most 20 characters" : $"the personal identity or co-ordination number {Error(r.SubjectId)}");
        }
        else
        {
            subject = number;
        }

        if (r.Requester is null)
        {
            problems.Add("requester", "say who asks: Subject or Guardian");
        }
        else if (r.Requester == ExtractRequester.Guardian && r.ProtectedIdentity is null)
        {
            // Never assumed: a child with protected identity is never served by proxy, and the hub keeps no such fact.
            problems.Add("protectedIdentity", "say whether the child has protected identity (true or false): a guardian is never served for such a child");
        }

        if (r.Assessed == true)
        {
            ConsentValidator.Text(r.AssessmentReference, "assessmentReference", MaxReference, multiline: false, problems, "say where the assessment is documented");
        }
        else if (r.AssessmentReference is not null)
        {
            ConsentValidator.Text(r.AssessmentReference, "assessmentReference", MaxReference, multiline: false, problems, null);
        }

        HsaIdField(r.RequestedBy, "requestedBy", problems);
        return (problems, subject);
    }

    public Problems ValidateReview(ReviewRequest? r)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the review as a JSON object");
            return problems;
        }

        ConsentValidator.Text(r.Note, "note", MaxNote, multiline: true, problems, "write a note on the review");
        HsaIdField(r.ReviewedBy, "reviewedBy", problems);
        return problems;
    }

    public Problems ValidateFollowUp(FollowUpRequest? r)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the request as a JSON object");
            return problems;
        }

        if (ConsentValidator.Text(r.Unit, "unit", ConsentValidator.MaxUnitId, multiline: false, problems, "name the unit to follow up")
            && registry.FindUnit(r.Unit!) is null)
        {
            problems.Add("unit", "is not a unit the hub knows");
        }

        if (r.From is null)
        {
            problems.Add("from", "give the start of the period");
        }

        if (r.To is null)
        {
            problems.Add("to", "give the end of the period");
        }

        if (r.From is { } from && r.To is { } to)
        {
            if (to <= from)
            {
                problems.Add("to", "must be after from");
            }
            else if (to - from > MaxPeriod)
            {
                problems.Add("to", $"the period may be at most {MaxPeriod.TotalDays:0} days");
            }
        }

        if (r.SampleSize is < 0 or > MaxSampleSize)
        {
            problems.Add("sampleSize", $"must be 0 to {MaxSampleSize}");
        }

        if (r.Seed is < 0 or > MaxSeed)
        {
            problems.Add("seed", $"must be a whole number from 0 to {MaxSeed}");
        }

        HsaIdField(r.RequestedBy, "requestedBy", problems);
        return problems;
    }

    /// <summary>The parser's reason, unless it would repeat the input (it never does today; the bound keeps it so).</summary>
    private static string Error(string input) =>
        PersonalIdentityNumber.TryParse(input, out _, out var error) || error.Contains(input, StringComparison.Ordinal) ? "is not valid" : error;

    private static void HsaIdField(string? value, string field, Problems problems)
    {
        if (ConsentValidator.Text(value, field, HsaId.MaxLength, multiline: false, problems, "say who asks, by HSA id") && HsaId.Check(value) is { } problem)
        {
            problems.Add(field, problem);
        }
    }
}

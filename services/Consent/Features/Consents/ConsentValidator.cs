using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// Turns a request into a consent version, or says precisely what is wrong. The rules come from domain.md section 3
/// (the Skåne guidance on samtycke and its footnote 3, and SoL 3:6a for a child of 15).
/// </summary>
public sealed class ConsentValidator(OrganisationRegistry registry, LegalBasisCatalog bases)
{
    private static readonly GrantorRole[] ForAChild =
        [GrantorRole.Guardian, GrantorRole.TemporaryGuardian, GrantorRole.SpeciallyAppointedGuardian, GrantorRole.GodMan, GrantorRole.SocialCommittee];

    public (ConsentRecord? Record, Dictionary<string, string[]> Errors) Validate(
        RecordConsentRequest r, Guid id, int version, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        void Error(string field, string message) =>
            errors[field] = errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

        if (!PersonalIdentityNumber.TryParse(r.SubjectId, out var subject, out var subjectError))
        {
            Error("subjectId", $"the personal identity or co-ordination number {subjectError}");
        }

        if (r.Purposes is not { Count: > 0 })
        {
            Error("purposes", "name at least one purpose: a consent is specific to a situation, never general");
        }

        if (r.Categories is not { Count: > 0 })
        {
            Error("categories", "name the information categories the consent covers");
        }

        var sending = Units(r.SendingUnits, "sendingUnits", Error);
        var receiving = Units(r.ReceivingUnits, "receivingUnits", Error);
        if (string.IsNullOrWhiteSpace(r.RecordingUnit) || !(r.SendingUnits ?? []).Concat(r.ReceivingUnits ?? []).Contains(r.RecordingUnit))
        {
            Error("recordingUnit", "must be one of the sending or receiving units");
        }

        var validFrom = r.ValidFrom ?? now;
        if (r.ValidUntil is not { } validUntil)
        {
            Error("validUntil", "a consent is never valid without an end date");
            validUntil = validFrom;
        }
        else if (validUntil <= validFrom)
        {
            Error("validUntil", "must be after validFrom");
        }
        else if (validUntil - validFrom > bases.MaxConsentLength)
        {
            Error("validUntil", $"a consent may last at most {bases.MaxConsentLength.TotalDays:0} days");
        }

        if (string.IsNullOrWhiteSpace(r.Situation))
        {
            Error("situation", "describe the situation the consent is for");
        }

        if (string.IsNullOrWhiteSpace(r.JournalReference))
        {
            Error("journalReference", "give the journal reference where the consent is documented");
        }

        if (string.IsNullOrWhiteSpace(r.RecordedBy))
        {
            Error("recordedBy", "say who recorded the consent");
        }

        var grantors = Grantors(r, subject, validFrom, receiving, Error);
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new ConsentRecord
        {
            Id = id,
            Version = version,
            State = ConsentState.Active,
            SubjectId = subject!.Value.Value,
            Grantors = grantors,
            BothGuardiansRequired = r.BothGuardiansRequired,
            Purposes = r.Purposes!.Distinct().ToList(),
            SendingUnits = sending.Select(u => u.Id).ToList(),
            ReceivingUnits = receiving.Select(u => u.Id).ToList(),
            Categories = r.Categories!.Distinct().ToList(),
            ValidFrom = validFrom,
            ValidUntil = validUntil,
            Situation = r.Situation!,
            JournalReference = r.JournalReference!,
            RecordedBy = r.RecordedBy!,
            RecordingUnit = r.RecordingUnit!,
            RecordedAt = now,
            ChangeReason = r.ChangeReason,
        }, errors);
    }

    private List<Unit> Units(IReadOnlyList<string>? ids, string field, Action<string, string> error)
    {
        if (ids is not { Count: > 0 })
        {
            error(field, "name at least one unit");
            return [];
        }

        var units = new List<Unit>();
        foreach (var id in ids.Distinct())
        {
            if (registry.FindUnit(id) is { } unit)
            {
                units.Add(unit);
            }
            else
            {
                error(field, $"there is no unit '{id}'");
            }
        }

        return units;
    }

    private static List<Grantor> Grantors(
        RecordConsentRequest r, PersonalIdentityNumber? subject, DateTimeOffset validFrom, List<Unit> receiving, Action<string, string> error)
    {
        if (r.Grantors is not { Count: > 0 })
        {
            error("grantors", "record who gave the consent, each with their own answer");
            return [];
        }

        var grantors = new List<Grantor>();
        for (var i = 0; i < r.Grantors.Count; i++)
        {
            var g = r.Grantors[i];
            var field = $"grantors[{i}]";
            if (g.Role is not { } role || g.Answer is not { } answer || string.IsNullOrWhiteSpace(g.Name))
            {
                error(field, "needs role, name and answer (Yes, No or Partial)");
                continue;
            }

            if (role == GrantorRole.FosterParent)
            {
                error(field, "foster parents and residential staff without a specific appointment may not consent for a child");
            }

            if (answer == ConsentAnswer.Partial && g.CoveredCategories is not { Count: > 0 })
            {
                error(field, "a partial answer must list the categories it covers");
            }
            else if (answer == ConsentAnswer.Partial && g.CoveredCategories!.Except(r.Categories ?? []).Any())
            {
                error(field, "a partial answer can only cover categories the consent proposes");
            }
            else if (answer != ConsentAnswer.Partial && g.CoveredCategories is { Count: > 0 })
            {
                error(field, "only a partial answer lists covered categories");
            }

            grantors.Add(new Grantor(role, g.Name, answer, answer == ConsentAnswer.Partial ? g.CoveredCategories : null));
        }

        if (subject is { } s)
        {
            var age = s.AgeOn(DateOnly.FromDateTime(validFrom.UtcDateTime));
            foreach (var (g, i) in grantors.Select((g, i) => (g, i)))
            {
                if (age >= 18 && g.Role != GrantorRole.Subject)
                {
                    error($"grantors[{i}]", "an adult consents for themself");
                }
                else if (age < 18 && g.Role == GrantorRole.Subject && !(age >= 15 && receiving.Count > 0
                    && receiving.All(u => u.Operation == OperationType.PreventiveSocialServices)))
                {
                    error($"grantors[{i}]", "a child may consent alone only from 15, and only to open interventions from social services");
                }
                else if (age < 18 && g.Role != GrantorRole.Subject && !ForAChild.Contains(g.Role) && g.Role != GrantorRole.FosterParent)
                {
                    error($"grantors[{i}]", "a child's consent is given by a guardian, god man or the social committee");
                }
            }
        }

        if (r.BothGuardiansRequired && grantors.Count(g => SecrecyGate.IsGuardian(g.Role)) < 2)
        {
            error("grantors", "both guardians must be recorded when bothGuardiansRequired is set");
        }

        return grantors;
    }
}

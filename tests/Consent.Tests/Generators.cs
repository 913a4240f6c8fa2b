using System.Globalization;
using System.Text;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FsCheck;
using FsCheck.Fluent;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>A generated organisation with its registry and a gate over it (the legal bases are the shipped catalogue).</summary>
internal sealed class GeneratedOrganisation
{
    public GeneratedOrganisation(OrganisationDocument document)
    {
        Document = document;
        Registry = new OrganisationRegistry(document);
        Gate = new SecrecyGate(Registry, TestOrganisation.Bases);
    }

    public OrganisationDocument Document { get; }

    public OrganisationRegistry Registry { get; }

    public SecrecyGate Gate { get; }

    public IEnumerable<string> UnitIds => Document.Units.Select(u => u.Id);

    public IEnumerable<string> UnitsOf(params OperationType[] operations) =>
        Document.Units.Where(u => operations.Contains(u.Operation)).Select(u => u.Id);

    public GeneratedOrganisation Without(string unitId) =>
        new(Document with { Units = Document.Units.Where(u => u.Id != unitId).ToList() });

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var p in Document.Principals)
        {
            text.Append(CultureInfo.InvariantCulture, $"  principal {p.Id} ({p.Kind})\n");
        }

        foreach (var u in Document.Units)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  unit {u.Id}: {u.Operation} of {u.Principal}, careUnit={u.CareUnit ?? "-"}, committee={u.Committee ?? "-"}, branch={u.Branch ?? "-"}, " +
                $"centre={u.FamilyCentre ?? "-"}, assessors=[{string.Join(",", u.DesignatedAssessors ?? [])}]\n");
        }

        return text.ToString();
    }
}

/// <summary>One input to the gate: an organisation, a disclosure request, the subject's consents and the time.</summary>
internal sealed record Scenario(GeneratedOrganisation Organisation, SubmitDisclosure Request, IReadOnlyList<ConsentRecord> Consents, DateTimeOffset Now)
{
    public Decision Decide() => Organisation.Gate.Decide(Request, Consents, Now);

    public Decision DecideWith(IReadOnlyList<ConsentRecord> consents) => Organisation.Gate.Decide(Request, consents, Now);

    public override string ToString()
    {
        var d = Request;
        var claim = d.ClaimedBasis is { } c
            ? $"'{c.Basis}' (justification={Quote(c.Justification)}, reference={Quote(c.AssessmentReference)}, assessor={Quote(c.Assessor)})"
            : "none";
        var text = new StringBuilder("\n");
        text.Append(Organisation);
        text.Append(CultureInfo.InvariantCulture,
            $"  request: {d.Purpose} {d.SendingUnit} -> {d.ReceivingUnit} [{string.Join(",", d.Categories)}] subject={d.SubjectId} claim={claim}\n");
        text.Append(CultureInfo.InvariantCulture, $"  now: {Now:O}\n");
        foreach (var k in Consents)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  consent {k.Id.ToString()[..8]} {k.State} S=[{string.Join(",", k.SendingUnits)}] R=[{string.Join(",", k.ReceivingUnits)}] " +
                $"P=[{string.Join(",", k.Purposes)}] C=[{string.Join(",", k.Categories)}] {k.ValidFrom:O}..{k.ValidUntil:O} both={k.BothGuardiansRequired} " +
                $"G=[{string.Join("; ", k.Grantors.Select(g => $"{g.Role} '{g.Name}' {g.Answer}{(g.CoveredCategories is { } cc ? $"({string.Join(",", cc)})" : "")}"))}]\n");
        }

        return text.ToString();

        static string Quote(string? s) => s is null ? "null" : $"'{s}'";
    }
}

/// <summary>
/// FsCheck generators for the gate's inputs. Pools are small on purpose, so that units share principals, care units,
/// committees and branches often enough for every secrecy-area case, and consents name the request's units often
/// enough for every consent rule to be exercised.
/// </summary>
internal static class Generators
{
    public static readonly DateTimeOffset Now = TestOrganisation.Now;

    public static readonly OperationType[] Operations = Enum.GetValues<OperationType>();
    public static readonly Purpose[] Purposes = Enum.GetValues<Purpose>();
    public static readonly InformationCategory[] Categories = Enum.GetValues<InformationCategory>();

    public static readonly string[] Names =
        ["Anna Svensson", "Erik Lindqvist", "Fatima Hassan", "Mikael Öberg", "Sara Nilsson", "Jonas Bergström", "Leila Karimi", "Maria Johansson"];

    public static readonly string[] Assessors = ["assessor-1", "assessor-2", "assessor-3"];

    private static readonly string[] CareUnits = ["vardenhet-1", "vardenhet-2"];
    private static readonly string[] Committees = ["socialnamnd", "forskolenamnd"];
    private static readonly string[] Branches = ["socialtjanst", "utbildning"];

    public static bool IsHealthCare(OperationType op) => op is OperationType.MaternityCare or OperationType.ChildHealth;

    /// <summary>
    /// One to two regions, one to two municipalities (each with the same two committee ids, so that only the principal
    /// tells them apart), zero to two private providers (usually some); a unit of every operation type plus up to four more.
    /// </summary>
    public static Gen<GeneratedOrganisation> Organisations =>
        from regions in Gen.Choose(1, 2)
        from municipalities in Gen.Choose(1, 2)
        from privates in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)))
        let principals = Enumerable.Range(1, regions).Select(i => new Principal($"region-{i}", PrincipalKind.Region, $"Region {i}"))
            .Concat(Enumerable.Range(1, municipalities).Select(i => new Principal($"kommun-{i}", PrincipalKind.Municipality, $"Kommun {i}")))
            .Concat(Enumerable.Range(1, privates).Select(i => new Principal($"privat-{i}", PrincipalKind.PrivateCareProvider, $"Vårdgivare {i}")))
            .ToList()
        from extra in Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(Gen.Elements(Operations), n))
        let operations = Operations.Concat(extra).ToList()
        from units in Gen.CollectToList(operations.Select((op, i) => Unit($"u{i}", op, principals)))
        select new GeneratedOrganisation(new OrganisationDocument(
            principals,
            principals.Where(p => p.Kind == PrincipalKind.Municipality).SelectMany(p => Committees.Select(c => new Committee(c, p.Id, c))).ToList(),
            [new FamilyCentre("fc-1", "Familjecentralen 1"), new FamilyCentre("fc-2", "Familjecentralen 2")],
            units.ToList()));

    /// <summary>
    /// A unit with random secrecy attributes. Usually its principal is of the kind that runs its operation; sometimes any
    /// principal. Sometimes it also carries the attributes of the other kind, which must not matter.
    /// </summary>
    private static Gen<Unit> Unit(string id, OperationType op, IReadOnlyList<Principal> principals)
    {
        var typical = principals.Where(p => IsHealthCare(op) ? p.Kind != PrincipalKind.Municipality : p.Kind == PrincipalKind.Municipality).ToArray();
        return
            from principal in Gen.Frequency((9, Gen.Elements(typical)), (1, Gen.Elements(principals.ToArray())))
            from careUnit in Gen.Elements(CareUnits)
            from committee in Gen.Elements(Committees)
            from branch in Gen.Elements(Branches)
            from noise in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            from centre in Gen.Elements<string?>(null, "fc-1", "fc-2")
            from assessors in Gen.Frequency(
                (1, Gen.Constant<IReadOnlyList<string>?>(null)),
                (3, Gen.SubListOf(Assessors).Select(l => (IReadOnlyList<string>?)l.ToList())))
            select principal.Kind == PrincipalKind.Municipality
                ? new Unit(id, $"Unit {id}", op, principal.Id, CareUnit: noise ? careUnit : null, Committee: committee, Branch: branch,
                    FamilyCentre: centre, DesignatedAssessors: assessors)
                : new Unit(id, $"Unit {id}", op, principal.Id, CareUnit: careUnit, Committee: noise ? committee : null, Branch: noise ? branch : null,
                    FamilyCentre: centre, DesignatedAssessors: assessors);
    }

    /// <summary>
    /// A personal identity number or (one in ten) a co-ordination number, 12 digits with a valid Luhn check digit; four in
    /// five of a child (subjects are mostly children, and the guardians' consent stops counting at 18), and some of the
    /// children turning 18 within a consent's window.
    /// </summary>
    public static Gen<string> PersonalIdentityNumbers =>
        from year in Gen.Frequency((4, Gen.Choose(2008, 2026)), (1, Gen.Choose(1975, 2007)))
        from month in Gen.Choose(1, 12)
        from day in Gen.Choose(1, 28)
        from serial in Gen.Choose(0, 999)
        from coordination in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
        select WithCheckDigit(year, month, coordination ? day + 60 : day, serial);

    internal static string WithCheckDigit(int year, int month, int day, int serial)
    {
        var nine = string.Create(CultureInfo.InvariantCulture, $"{year % 100:D2}{month:D2}{day:D2}{serial:D3}");
        var sum = 0;
        for (var i = 0; i < nine.Length; i++)
        {
            var product = (nine[i] - '0') * (i % 2 == 0 ? 2 : 1);
            sum += product / 10 + product % 10;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{year:D4}{nine[2..]}{(10 - sum % 10) % 10}");
    }

    public static Gen<List<InformationCategory>> NonEmptyCategories =>
        Gen.SubListOf(Categories).Where(l => l.Count > 0).Select(l => l.ToList());

    /// <summary>
    /// Any pair of units and any purpose; half the time a pair whose operations suit the purpose (so that rarely accepted
    /// purposes such as birth handover are exercised); now and then a unit the registry does not know.
    /// </summary>
    public static Gen<SubmitDisclosure> Requests(GeneratedOrganisation org, string subject) =>
        from purpose in Gen.Elements(Purposes)
        from pair in Gen.Frequency((1, AnyPair(org)), (2, TypicalPair(org, purpose)))
        from categories in NonEmptyCategories
        from claim in Claims(org, pair.Sender, subject)
        select Request(pair.Sender, pair.Receiver, purpose, categories, subject, claim);

    public static Gen<SubmitDisclosure> ReportsOfConcernToIntake(GeneratedOrganisation org, string subject) =>
        from sender in Gen.Elements(org.UnitIds.ToArray())
        from receiver in Gen.Elements(org.UnitsOf(OperationType.SocialServicesIntake).ToArray())
        from categories in NonEmptyCategories
        from claim in Claims(org, sender, subject)
        select Request(sender, receiver, Purpose.ReportOfConcern, categories, subject, claim);

    private static SubmitDisclosure Request(
        string sender, string receiver, Purpose purpose, IReadOnlyList<InformationCategory> categories, string subject, ClaimedBasis? claim) => new()
    {
        MessageId = Guid.Empty,
        SendingUnit = sender,
        ReceivingUnit = receiver,
        Purpose = purpose,
        Categories = categories,
        SubjectId = subject,
        ClaimedBasis = claim,
        Content = "{}",
        ActingSystem = "property-test",
        SubmittedAt = Now,
    };

    private static Gen<(string Sender, string Receiver)> AnyPair(GeneratedOrganisation org)
    {
        var ids = org.UnitIds.ToArray();
        var known = Gen.Elements(ids);
        var maybeUnknown = Gen.Frequency((19, known), (1, Gen.Constant("u-unknown")));
        return from sender in maybeUnknown from receiver in maybeUnknown select (sender, receiver);
    }

    private static Gen<(string Sender, string Receiver)> TypicalPair(GeneratedOrganisation org, Purpose purpose)
    {
        var (senders, receivers) = purpose switch
        {
            Purpose.ReportOfConcern => (Operations, [OperationType.SocialServicesIntake]),
            Purpose.BirthHandover => ([OperationType.MaternityCare], [OperationType.ChildHealth]),
            Purpose.CareHandover => (
                new[] { OperationType.SocialServicesIntake, OperationType.PreventiveSocialServices },
                new[] { OperationType.SocialServicesIntake, OperationType.PreventiveSocialServices }),
            _ => (Operations, Operations.Where(o => o != OperationType.SocialServicesIntake).ToArray()),
        };
        return from sender in Gen.Elements(org.UnitsOf(senders).ToArray())
               from receiver in Gen.Elements(org.UnitsOf(receivers).ToArray())
               select (sender, receiver);
    }

    /// <summary>
    /// No claim, or a claim of any catalogue basis (including the two a sender cannot claim; the assessment and protective
    /// bases more often, and mostly the variant meant for this sender's kind, so that they do hold now and then), rarely an unknown basis id (sometimes a client's mistake that puts
    /// the subject's number or a name there), with justification and assessment reference blank or not, and an assessor
    /// who is often, but not always, designated for the sending unit.
    /// </summary>
    public static Gen<ClaimedBasis?> Claims(GeneratedOrganisation org, string sender, string subject)
    {
        var unit = org.Document.Units.FirstOrDefault(u => u.Id == sender);
        var designated = unit?.DesignatedAssessors is { Count: > 0 } own ? own.ToArray() : Assessors;
        var isPrivate = unit is not null && org.Document.Principals.First(p => p.Id == unit.Principal).Kind == PrincipalKind.PrivateCareProvider;
        var (assessment, otherAssessment) = isPrivate ? ("not-unauthorised-disclosure", "harm-assessment") : ("harm-assessment", "not-unauthorised-disclosure");
        var (protect, otherProtect) = unit is not null && IsHealthCare(unit.Operation)
            ? ("protect-child-from-health-care", "protect-child-from-social-services")
            : ("protect-child-from-social-services", "protect-child-from-health-care");
        return Gen.Frequency(
            (3, Gen.Constant<ClaimedBasis?>(null)),
            (7,
                from basis in Gen.Frequency(
                    (1, Gen.Elements("same-secrecy-area", "consent", "report-of-concern")),
                    (3, Gen.Frequency((3, Gen.Constant(protect)), (1, Gen.Constant(otherProtect)))),
                    (4, Gen.Frequency((3, Gen.Constant(assessment)), (1, Gen.Constant(otherAssessment)))),
                    (1, Gen.Elements("no-such-basis", "", " ", "Consent", "REPORT-OF-CONCERN", subject, $"orosanmälan {subject}", $"samtycke {Names[0]}")))
                from justification in Gen.Frequency(
                    (1, Gen.Elements<string?>(null, "", "  ")),
                    (3, Gen.Elements<string?>("Nödvändig insats till skydd för barnet.", $"{Names[1]} berättar att barnet far illa.")))
                from reference in Gen.Frequency((1, Gen.Elements<string?>(null, "", " ")), (3, Gen.Elements<string?>("J-42", "2026-0117")))
                from assessor in Gen.Frequency(
                    (1, Gen.Elements<string?>(null, "", "someone-else")),
                    (1, Gen.Elements(Assessors).Select(a => (string?)a)),
                    (3, Gen.Elements(designated).Select(a => (string?)a)))
                select (ClaimedBasis?)new ClaimedBasis { Basis = basis, Justification = justification, AssessmentReference = reference, Assessor = assessor }));
    }

    /// <summary>Zero to four consents for the request's subject; most of them aimed at the request's situation.</summary>
    public static Gen<List<ConsentRecord>> Consents(GeneratedOrganisation org, SubmitDisclosure request) =>
        from count in Gen.Choose(0, 4)
        from consents in Gen.CollectToList(Enumerable.Range(1, count).Select(i => Consent(org, request, new Guid(i, 0, 0, new byte[8]))))
        select consents.ToList();

    public static Gen<ConsentRecord> Consent(GeneratedOrganisation org, SubmitDisclosure request, Guid id) =>
        from aimed in Gen.Frequency((7, Gen.Constant(true)), (3, Gen.Constant(false)))
        from sending in UnitList(org, aimed ? request.SendingUnit : null)
        from receiving in UnitList(org, aimed ? request.ReceivingUnit : null)
        from purposes in Gen.SubListOf(Purposes).Select(l => aimed ? l.Append(request.Purpose).Distinct().ToList() : l.ToList())
        from superset in Gen.Frequency((7, Gen.Constant(true)), (3, Gen.Constant(false)))
        from categories in Gen.SubListOf(Categories).Select(l => aimed && superset ? l.Concat(request.Categories).Distinct().ToList() : l.ToList())
        from grantors in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Grantor(categories, request.Categories), n))
        from both in Gen.Frequency((7, Gen.Constant(false)), (3, Gen.Constant(true)))
        from state in Gen.Frequency((85, Gen.Constant(ConsentState.Active)), (15, Gen.Constant(ConsentState.Revoked)))
        from window in Windows
        from version in Gen.Choose(1, 3)
        select new ConsentRecord
        {
            Id = id,
            Version = version,
            State = state,
            SubjectId = request.SubjectId,
            Grantors = grantors,
            BothGuardiansRequired = both,
            Purposes = purposes,
            SendingUnits = sending,
            ReceivingUnits = receiving,
            Categories = categories,
            ValidFrom = window.From,
            ValidUntil = window.Until,
            Situation = "Generated situation",
            JournalReference = "J-1",
            RecordedBy = "staff",
            RecordingUnit = sending.FirstOrDefault() ?? "u0",
            RecordedAt = window.From,
        };

    private static Gen<List<string>> UnitList(GeneratedOrganisation org, string? mustInclude) =>
        Gen.SubListOf(org.UnitIds.ToArray()).Select(l => mustInclude is null ? l.ToList() : l.Append(mustInclude).Distinct().ToList());

    /// <summary>
    /// A grantor of any role, foster parents included (the validator refuses them, but the gate must not rely on that),
    /// answering yes, no or partly. A partial answer usually covers part of the consent's categories, sometimes also
    /// categories outside it, and sometimes the request's categories exactly; now and then a yes or no carries a stray list.
    /// </summary>
    private static Gen<Grantor> Grantor(IReadOnlyList<InformationCategory> consentCategories, IReadOnlyList<InformationCategory> requested) =>
        from role in Gen.Frequency(
            (6, Gen.Constant(GrantorRole.Guardian)),
            (1, Gen.Constant(GrantorRole.TemporaryGuardian)),
            (1, Gen.Constant(GrantorRole.SpeciallyAppointedGuardian)),
            (1, Gen.Constant(GrantorRole.GodMan)),
            (1, Gen.Constant(GrantorRole.SocialCommittee)),
            (2, Gen.Constant(GrantorRole.FosterParent)),
            (1, Gen.Constant(GrantorRole.Subject)))
        from name in Gen.Elements(Names)
        from answer in Gen.Frequency(
            (6, Gen.Constant(ConsentAnswer.Yes)),
            (3, Gen.Constant(ConsentAnswer.Partial)),
            (2, Gen.Constant(ConsentAnswer.No)))
        from covered in answer == ConsentAnswer.Partial
            ? Gen.Frequency(
                (3, Gen.SubListOf(consentCategories.ToArray()).Select(l => (IReadOnlyList<InformationCategory>?)l.ToList())),
                (2, Gen.Constant<IReadOnlyList<InformationCategory>?>(requested.ToList())),
                (1, Gen.SubListOf(Categories).Select(l => (IReadOnlyList<InformationCategory>?)l.ToList())),
                (1, Gen.Constant<IReadOnlyList<InformationCategory>?>(null)))
            : Gen.Frequency(
                (6, Gen.Constant<IReadOnlyList<InformationCategory>?>(null)),
                (1, Gen.SubListOf(Categories).Select(l => (IReadOnlyList<InformationCategory>?)l.ToList())))
        select new Grantor(role, name, answer, covered);

    /// <summary>
    /// Validity windows before, around and after now, including windows that start exactly at now (valid) or end exactly
    /// at now (expired), sometimes written in Swedish local offset.
    /// </summary>
    public static Gen<(DateTimeOffset From, DateTimeOffset Until)> Windows
    {
        get
        {
            TimeSpan[] offsets =
            [
                TimeSpan.FromDays(-400), TimeSpan.FromDays(-30), TimeSpan.FromDays(-1), TimeSpan.FromSeconds(-1), TimeSpan.Zero,
                TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), TimeSpan.FromDays(30), TimeSpan.FromDays(400),
            ];
            return
                from a in Gen.Elements(offsets)
                from b in Gen.Elements(offsets)
                from local in Gen.Elements(false, true)
                let start = Now + (a < b ? a : b)
                let end = a == b ? Now + a + TimeSpan.FromDays(1) : Now + (a < b ? b : a)
                select local
                    ? (start.ToOffset(TimeSpan.FromHours(1)), end.ToOffset(TimeSpan.FromHours(2)))
                    : (start, end);
        }
    }

    public static Gen<Scenario> Scenarios => ScenariosOf(Requests);

    /// <summary>
    /// Issue 18: a child's own consent, aimed at the request's situation with any purposes, from children born 14 to 16
    /// years before now and consents given from 400 days ago until today, so that the 15th birthday falls before, on and
    /// after the day each was given; now and then with a guardian's yes beside it. Every purpose, no claims.
    /// </summary>
    public static Gen<Scenario> ChildOwnConsentScenarios =>
        from org in Organisations
        from daysOff in Gen.Choose(-400, 400)
        from serial in Gen.Choose(0, 999)
        let birth = DateOnly.FromDateTime(Now.UtcDateTime).AddYears(-15).AddDays(daysOff)
        let subject = WithCheckDigit(birth.Year, birth.Month, birth.Day, serial)
        from request in Requests(org, subject)
        from count in Gen.Choose(1, 2)
        from consents in Gen.CollectToList(Enumerable.Range(1, count).Select(i => OwnConsent(org, request, new Guid(i, 0, 0, new byte[8]))))
        select new Scenario(org, request with { ClaimedBasis = null }, consents.ToList(), Now);

    private static Gen<ConsentRecord> OwnConsent(GeneratedOrganisation org, SubmitDisclosure request, Guid id) =>
        from c in Consent(org, request, id)
        from purposes in Gen.SubListOf(Purposes).Select(l => l.Append(request.Purpose).Distinct().ToList())
        from givenDaysAgo in Gen.Elements(0, 1, 2, 30, 200, 400)
        from guardianToo in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        let self = new Grantor(GrantorRole.Subject, Names[3], ConsentAnswer.Yes)
        select c with
        {
            State = ConsentState.Active,
            Purposes = purposes,
            SendingUnits = c.SendingUnits.Append(request.SendingUnit).Distinct().ToList(),
            ReceivingUnits = c.ReceivingUnits.Append(request.ReceivingUnit).Distinct().ToList(),
            Categories = c.Categories.Concat(request.Categories).Distinct().ToList(),
            Grantors = guardianToo ? [self, new Grantor(GrantorRole.Guardian, Names[4], ConsentAnswer.Yes)] : [self],
            BothGuardiansRequired = false,
            ValidFrom = Now.AddDays(-givenDaysAgo),
            RecordedAt = Now.AddDays(-givenDaysAgo),
            ValidUntil = Now.AddDays(30),
        };

    /// <summary>One to three changes to a consent, any of them widening or narrowing: for the definition of narrowing.</summary>
    public static Gen<ConsentRecord> Mutations(GeneratedOrganisation org, ConsentRecord c) =>
        from n in Gen.Choose(1, 3)
        from changed in Mutate(org, c with { Version = c.Version + 1 }, n)
        select changed;

    private static readonly TimeSpan[] Shifts = [TimeSpan.FromDays(-30), TimeSpan.FromDays(-1), TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), TimeSpan.FromDays(30)];

    private static Gen<ConsentRecord> Mutate(GeneratedOrganisation org, ConsentRecord c, int n) =>
        n == 0 ? Gen.Constant(c) : Mutation(org, c).SelectMany(m => Mutate(org, m, n - 1));

    private static Gen<ConsentRecord> Mutation(GeneratedOrganisation org, ConsentRecord c)
    {
        var units = org.UnitIds.ToArray();
        var last = Math.Max(0, c.Grantors.Count - 1);
        return Gen.OneOf(
            Gen.Elements(units).Select(u => c with { SendingUnits = Toggle(c.SendingUnits, u) }),
            Gen.Elements(units).Select(u => c with { ReceivingUnits = Toggle(c.ReceivingUnits, u) }),
            Gen.Elements(Purposes).Select(p => c with { Purposes = Toggle(c.Purposes, p) }),
            Gen.Elements(Categories).Select(k => c with { Categories = Toggle(c.Categories, k) }),
            from i in Gen.Choose(0, last)
            from g in Grantor(c.Categories, c.Categories)
            select c with
            {
                Grantors = c.Grantors.Count == 0 ? [g] : c.Grantors.Select((x, j) => j == i ? x with { Answer = g.Answer, CoveredCategories = g.CoveredCategories } : x).ToList(),
            },
            Grantor(c.Categories, c.Categories).Select(g => c with { Grantors = [.. c.Grantors, g] }),
            Gen.Choose(0, last).Select(i => c with { Grantors = c.Grantors.Where((_, j) => j != i).ToList() }),
            Gen.Constant(c with { BothGuardiansRequired = !c.BothGuardiansRequired }),
            Gen.Elements(Shifts).Select(d => c with { ValidFrom = c.ValidFrom + d }),
            Gen.Elements(Shifts).Select(d => c with { ValidUntil = c.ValidUntil + d }),
            Gen.Constant(c with { State = ConsentState.Revoked }));
    }

    private static List<T> Toggle<T>(IReadOnlyList<T> list, T item) => list.Contains(item) ? list.Where(x => !EqualityComparer<T>.Default.Equals(x, item)).ToList() : [.. list, item];

    /// <summary>Reports of concern about a child (the duty to report is about a child), to the intake.</summary>
    public static Gen<Scenario> ReportOfConcernScenarios =>
        from s in ScenariosOf(ReportsOfConcernToIntake).Where(s => DomainOracle.AgeOn(s.Request.SubjectId, DomainOracle.SwedishDay(s.Now)) < 18)
        from no in Consent(s.Organisation, s.Request, new Guid("0000000a-0000-0000-0000-00000000000a"))
        from withNo in Gen.Elements(false, true)
        select withNo ? s with { Consents = [.. s.Consents, RecordedNo(no, s)] } : s;

    /// <summary>The consent turned into a recorded "no" for exactly the request's situation, valid now.</summary>
    public static ConsentRecord RecordedNo(ConsentRecord template, Scenario s) => template with
    {
        State = ConsentState.Active,
        SendingUnits = [s.Request.SendingUnit],
        ReceivingUnits = [s.Request.ReceivingUnit],
        Purposes = [s.Request.Purpose],
        Categories = [.. s.Request.Categories],
        ValidFrom = s.Now.AddDays(-1),
        ValidUntil = s.Now.AddDays(30),
        Grantors = [.. template.Grantors, new Grantor(GrantorRole.Guardian, Names[2], ConsentAnswer.No)],
    };

    private static Gen<Scenario> ScenariosOf(Func<GeneratedOrganisation, string, Gen<SubmitDisclosure>> requests) =>
        from org in Organisations
        from subject in PersonalIdentityNumbers
        from request in requests(org, subject)
        from consents in Consents(org, request)
        select new Scenario(org, request, consents, Now);

    /// <summary>Smaller scenarios that keep the request: fewer consents, grantors, categories, units; no claim.</summary>
    public static IEnumerable<Scenario> Shrink(Scenario s)
    {
        for (var i = 0; i < s.Consents.Count; i++)
        {
            yield return s with { Consents = s.Consents.Where((_, j) => j != i).ToList() };
        }

        if (s.Request.ClaimedBasis is not null)
        {
            yield return s with { Request = s.Request with { ClaimedBasis = null } };
        }

        for (var i = 0; i < s.Request.Categories.Count && s.Request.Categories.Count > 1; i++)
        {
            yield return s with { Request = s.Request with { Categories = s.Request.Categories.Where((_, j) => j != i).ToList() } };
        }

        for (var i = 0; i < s.Consents.Count; i++)
        {
            var c = s.Consents[i];
            for (var g = 0; g < c.Grantors.Count && c.Grantors.Count > 1; g++)
            {
                var fewer = c with { Grantors = c.Grantors.Where((_, j) => j != g).ToList() };
                yield return s with { Consents = s.Consents.Select((x, j) => j == i ? fewer : x).ToList() };
            }
        }

        foreach (var unit in s.Organisation.UnitIds.Where(u => u != s.Request.SendingUnit && u != s.Request.ReceivingUnit).ToList())
        {
            yield return s with { Organisation = s.Organisation.Without(unit) };
        }
    }

    public static Arbitrary<Scenario> Arbitrary(Gen<Scenario> gen) => Arb.From(gen, Shrink);
}

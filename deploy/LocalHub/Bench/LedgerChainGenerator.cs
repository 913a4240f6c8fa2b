using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FamiljecentralHub.Consent.Features.Ledger;

namespace FamiljecentralHub.LocalHub.Bench;

/// <summary>
/// A valid hash chain of generated ledger entries, hashed by the service's own <see cref="LedgerEntry.ComputeHash"/> and
/// linked as <see cref="LedgerWriter"/> links them. The mix follows what the gate writes: most messages a permitted
/// decision followed by its delivery and acknowledgement, some refused, a few withdrawn, consent versions recorded,
/// now and then a conflicting resubmission. Deterministic for a seed, so a run can be repeated.
/// </summary>
internal sealed class LedgerChainGenerator
{
    private static readonly (string Sending, string Receiving)[] Flows =
    [
        ("rosengard-bvc", "rosengard-socialtjanst"), ("rosengard-mvc", "rosengard-bvc"), ("rosengard-oppna-forskolan", "malmo-mottagning"),
        ("solglantan-bvc", "rosengard-oppna-forskolan"), ("rosengard-bvc", "malmo-mottagning"), ("rosengard-socialtjanst", "rosengard-bvc"),
    ];

    private static readonly string[] Systems = ["bvc-ehr", "mvc-ehr", "preschool-app", "social-services-case"];

    private static readonly string[] Purposes = ["Referral", "BirthHandover", "JointPlan", "ReportOfConcern"];

    private static readonly string[][] CategorySets =
    [
        ["FamilySituation"], ["FamilySituation", "ParentingSupport"], ["ChildHealth", "FamilySituation"], ["Pregnancy", "ParentHealth"],
        ["IdentityAndContact", "FamilySituation", "ChildHealth"], ["Attendance"],
    ];

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string[] pseudonyms;
    private readonly string[] users;
    private readonly long total;
    private readonly Random random;
    private readonly Queue<LedgerEntry> queued = new();
    private byte[] prevHash = new byte[32];
    private long seq;
    private long message;

    public LedgerChainGenerator(long total, int subjects, int seed)
    {
        this.total = total;
        random = new Random(seed);
        // Shaped as the hub's keyed pseudonyms ("p-" and 24 hex digits); derived from a counter, so they name nobody.
        pseudonyms = [.. Enumerable.Range(0, subjects).Select(Pseudonym)];
        users = [.. Enumerable.Range(0, 500).Select(i => $"SE2321000016-BENCH{i:D4}")];
    }

    public IReadOnlyList<string> Pseudonyms => pseudonyms;

    public static string Pseudonym(int subject) =>
        "p-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"bench-subject-{subject}")))[..24];

    /// <summary>The next entry of the chain, hashed and linked, or null after the last.</summary>
    public LedgerEntry? Next()
    {
        if (seq >= total)
        {
            return null;
        }

        if (queued.Count == 0)
        {
            Plan();
        }

        var entry = queued.Dequeue();
        // As LedgerWriter: the time as PostgreSQL keeps it (microseconds), the seq and the previous hash, then the hash.
        var at = Start.AddTicks((long)((double)seq / total * TimeSpan.FromDays(330).Ticks));
        var linked = entry with { Seq = ++seq, At = new DateTimeOffset(at.UtcTicks - (at.UtcTicks % 10), TimeSpan.Zero), PrevHash = prevHash };
        linked = linked with { Hash = linked.ComputeHash(prevHash) };
        prevHash = linked.Hash;
        return linked;
    }

    /// <summary>The entries one message (or one consent version) leaves in the ledger.</summary>
    private void Plan()
    {
        var id = MessageId(++message);
        var (sending, receiving) = Flows[random.Next(Flows.Length)];
        var subject = pseudonyms[random.Next(pseudonyms.Length)];
        var roll = random.Next(1000);
        if (roll < 40)
        {
            queued.Enqueue(new LedgerEntry
            {
                MessageId = id, Kind = LedgerKind.ConsentRecorded, Outcome = LedgerOutcome.Version, ConsentVersion = 1 + random.Next(3),
                SendingUnit = sending, ReceivingUnit = receiving, ActingSystem = Systems[random.Next(Systems.Length)], ActingUser = users[random.Next(users.Length)],
                SubjectPseudonym = subject, Purpose = "Referral", Categories = CategorySets[random.Next(CategorySets.Length)], Basis = "consent",
                ConsentId = ConsentId(subject), Reasons = [], At = Start,
            });
            return;
        }

        var purpose = Purposes[random.Next(Purposes.Length)];
        var refused = roll < 190;
        var decision = new LedgerEntry
        {
            MessageId = id, Kind = LedgerKind.Decision, Outcome = refused ? LedgerOutcome.Refused : LedgerOutcome.Permitted,
            SendingUnit = sending, ReceivingUnit = receiving, ActingSystem = Systems[random.Next(Systems.Length)], ActingUser = users[random.Next(users.Length)],
            SubjectPseudonym = subject, Purpose = purpose, Categories = CategorySets[random.Next(CategorySets.Length)],
            Basis = refused ? null : purpose == "ReportOfConcern" ? "report-of-concern" : "consent",
            ConsentId = refused || purpose == "ReportOfConcern" ? null : ConsentId(subject),
            Reasons = refused ? [$"no consent covers {purpose} from unit {sending} to unit {receiving}"] : [],
            Review = purpose == "ReportOfConcern", Digest = Digest(message, 0), At = Start,
        };
        queued.Enqueue(decision);
        if (refused)
        {
            return;
        }

        if (roll % 97 == 0)
        {
            var digest = Digest(message, 1);
            queued.Enqueue(decision with { Kind = LedgerKind.Conflict, Outcome = LedgerOutcome.Conflict, Digest = digest, Review = false, Reasons = ["another submission under a decided message id"] });
        }

        if (roll % 50 == 1)
        {
            queued.Enqueue(Step(decision, LedgerKind.Withdrawal, LedgerOutcome.Withdrawn));
            return;
        }

        queued.Enqueue(Step(decision, LedgerKind.Delivery, LedgerOutcome.Delivered));
        if (roll % 10 != 3)
        {
            queued.Enqueue(Step(decision, LedgerKind.Acknowledgement, LedgerOutcome.Acknowledged));
        }
    }

    private static LedgerEntry Step(LedgerEntry decision, LedgerKind kind, LedgerOutcome outcome) =>
        decision with { Kind = kind, Outcome = outcome, ActingSystem = "hub", ActingUser = null, Review = false, Digest = null, Reasons = [] };

    private static Guid MessageId(long n)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, n);
        BinaryPrimitives.WriteInt64BigEndian(bytes[8..], 0x6265_6E63_685F_6C67); // "bench_lg"
        return new Guid(bytes, bigEndian: true);
    }

    private static Guid ConsentId(string subject) => new(MD5.HashData(Encoding.ASCII.GetBytes(subject)));

    private static byte[] Digest(long n, int variant) => SHA256.HashData(BitConverter.GetBytes(n * 2 + variant));
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>
/// Registration through the real endpoint over HTTP, on a real database, with the production policy (no allowance on)
/// and a resolver of the test's own for names that must not depend on the machine's DNS.
/// </summary>
public sealed class WebhookApiTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Unit = "rosengard-socialtjanst";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Names for the test: one public, one inside, one with both (a round-robin answer may hide an inside address),
    // one that does not resolve. Anything else (localhost) goes to the system's resolver, as in production.
    private static readonly ResolveHost Resolver = (host, token) => host switch
    {
        "public.test" => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14") }),
        "inside.test" => Task.FromResult(new[] { IPAddress.Parse("127.0.0.1") }),
        "mixed.test" => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.1.2.3") }),
        "nowhere.test" => Task.FromResult(Array.Empty<IPAddress>()),
        _ => Dns.GetHostAddressesAsync(host, token),
    };

    [Theory]
    // Loopback, in every spelling
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://127.1/hook")]
    [InlineData("https://2130706433/hook")]
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://0177.0.0.1/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://LOCALHOST.:8443/hook")]
    [InlineData("https://[::ffff:127.0.0.1]/hook")]
    [InlineData("https://[::ffff:7f00:1]/hook")]
    [InlineData("https://inside.test/hook")]
    // Private, shared, link-local (cloud metadata), "this network", multicast, broadcast, documentation
    [InlineData("https://10.0.0.5/hook")]
    [InlineData("https://172.16.0.1/hook")]
    [InlineData("https://192.168.1.10/hook")]
    [InlineData("https://100.64.0.1/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("https://224.0.0.1/hook")]
    [InlineData("https://255.255.255.255/hook")]
    [InlineData("https://192.0.2.1/hook")]
    [InlineData("https://198.51.100.7/hook")]
    [InlineData("https://203.0.113.9/hook")]
    [InlineData("https://[fd00::1]/hook")]
    [InlineData("https://[fe80::1]/hook")]
    [InlineData("https://[ff02::1]/hook")]
    [InlineData("https://[2001:db8::1]/hook")]
    [InlineData("https://[::ffff:10.0.0.1]/hook")]
    [InlineData("https://[64:ff9b::7f00:1]/hook")]
    [InlineData("https://[2002:7f00:1::1]/hook")]
    [InlineData("https://[::]/hook")]
    [InlineData("https://mixed.test/hook")]
    [InlineData("https://nowhere.test/hook")]
    // Plain http, even to a public address
    [InlineData("http://public.test/hook")]
    [InlineData("http://93.184.215.14/hook")]
    // Not a webhook URL at all
    [InlineData("")]
    [InlineData("/relative/hook")]
    [InlineData("ftp://public.test/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("https://user:pass@public.test/hook")]
    [InlineData("https://public.test/hook#part")]
    public async Task Register_NotAPublicHttpsReceiver_400AndNothingStored(string url)
    {
        var db = await postgres.NewDatabaseAsync();
        await using var api = await StartApiAsync(db, new WebhookOptions());
        using var http = new HttpClient();

        var response = await http.PutAsJsonAsync($"{api.Urls.Single()}/units/{Unit}/webhook", new { url }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await response.Content.ReadAsStringAsync(Ct);
        body.ShouldContain("\"url\"");
        if (url.Length > 0)
        {
            body.ShouldNotContain(new Uri(url, UriKind.RelativeOrAbsolute).OriginalString);
        }

        await using var connection = await db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM webhooks")).ShouldBe(0);
    }

    /// <summary>
    /// Registration must not map the network behind the hub: a name that does not resolve and one that resolves inside get
    /// the same answer, or a client could learn which internal names exist.
    /// </summary>
    [Fact]
    public async Task Register_AHostThatDoesNotResolve_IsAnsweredAsOneThatResolvesInside()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var api = await StartApiAsync(db, new WebhookOptions());
        using var http = new HttpClient();

        var nowhere = await http.PutAsJsonAsync($"{api.Urls.Single()}/units/{Unit}/webhook", new { url = "https://nowhere.test/hook" }, Ct);
        var inside = await http.PutAsJsonAsync($"{api.Urls.Single()}/units/{Unit}/webhook", new { url = "https://inside.test/hook" }, Ct);

        (await nowhere.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").GetRawText()
            .ShouldBe((await inside.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").GetRawText());
    }

    [Theory]
    [InlineData("https://public.test/hub/webhook?tenant=7")]
    [InlineData("https://93.184.215.14:8443/hook")]
    [InlineData("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook")]
    public async Task Register_PublicHttpsReceiver_Stored(string url)
    {
        var db = await postgres.NewDatabaseAsync();
        await using var api = await StartApiAsync(db, new WebhookOptions());
        using var http = new HttpClient();

        var response = await http.PutAsJsonAsync($"{api.Urls.Single()}/units/{Unit}/webhook", new { url }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        await using var connection = await db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<string>("SELECT url FROM webhooks WHERE receiving_unit = @Unit", new { Unit })).ShouldBe(url);
    }

    /// <summary>Even with the test-only loopback allowance, the hub's own ports on loopback stay out of reach.</summary>
    [Theory]
    [InlineData("http://127.0.0.1:15672/api/queues", false)] // RabbitMQ management
    [InlineData("http://127.0.0.1:5432/", false)]
    [InlineData("http://[::ffff:127.0.0.1]:5672/", false)]
    [InlineData("http://127.0.0.1:40123/hook", true)]
    [InlineData("http://10.0.0.5:40123/hook", false)] // the allowance is loopback only
    [InlineData("http://93.184.215.14/hook", false)] // and plain http to it only
    public async Task Check_TestOnlyLoopbackAllowance_HubPortsStillRefused(string url, bool allowed)
    {
        var policy = new WebhookTargetPolicy(Options.Create(new WebhookOptions { TestOnlyAllowLoopbackReceivers = true }), configuration: null, Resolver);

        var error = policy.CheckUrl(url, out var uri) ?? await policy.CheckRegistrationAsync(uri!, Ct);

        (error is null).ShouldBe(allowed);
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("100.63.255.255", true)]
    [InlineData("100.128.0.0", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("2606:4700:4700::1111", true)]
    [InlineData("100.127.255.254", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("198.19.0.1", false)]
    [InlineData("240.0.0.1", false)]
    [InlineData("fc00::1", false)]
    [InlineData("2001::1", false)] // Teredo
    [InlineData("3fff::1", false)]
    [InlineData("::127.0.0.1", false)] // IPv4-compatible
    [InlineData("64:ff9b::808:808", true)] // NAT64 of 8.8.8.8
    public void IsPublic_Address_AsTheRegistriesSay(string address, bool expected) =>
        WebhookTargetPolicy.IsPublic(IPAddress.Parse(address)).ShouldBe(expected);

    private static async Task<WebApplication> StartApiAsync(NpgsqlDataSource db, WebhookOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(db);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new WebhookTargetPolicy(Options.Create(options), configuration: null, Resolver));
        var app = builder.Build();
        app.MapGroup("/units/{unitId}").MapWebhookApi();
        await app.StartAsync(Ct);
        return app;
    }
}

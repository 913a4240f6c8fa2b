using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.Containers.Tests;

/// <summary>
/// The hub as a platform team runs it (issue 15, items 1 and 2): the images of deploy/containers, played from the
/// Kubernetes manifests of deploy/kubernetes (overlay local-podman) by deploy/kube-up.sh. A referral with the guardian's
/// consent goes through the containerised gateway (client certificate), the sending service, the broker, the gate and
/// the receiving service, and is fetched from the receiver's inbox; deploy/kube-down.sh then takes everything down.
/// </summary>
public sealed class KubePlayTests
{
    private static readonly Uri Gateway = new("https://127.0.0.1:9443");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referral_WithConsent_ThroughTheContainerisedHub_ReachesTheReceiversInbox()
    {
        Assert.SkipUnless(Environment.UserName == "root", "kube-up.sh plays the hub with rootful podman: run as root (deploy/test.sh does).");
        Assert.SkipWhen(
            Environment.GetEnvironmentVariable("HUB_SKIP_CONTAINERS") == "1",
            "HUB_SKIP_CONTAINERS=1: the containerised hub is not played in this run.");
        var root = RepositoryRoot();
        try
        {
            // kube-up.sh installs podman when it is missing and waits for ready; --build makes the images again from this
            // build's output (the base and runtime layers are reused), so the test never plays images of older code.
            await RunAsync(root, "deploy/kube-up.sh", TimeSpan.FromMinutes(20), "--build");
            // The demo PKI kube-up.sh made (deployment-secrets): the clients' certificates exist, Ensure only loads them.
            var pki = DemoPki.Ensure(
                Path.Combine(root, "deploy", "kubernetes", "secrets", "pki"), [DemoRequests.ChildHealthClient, DemoRequests.SocialServicesClient]);
            using var bvc = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, Gateway);
            using var social = HubHttp.CreateClient(pki, DemoRequests.SocialServicesClient, Gateway);
            // A new subject every run: the volumes are removed at the end, but a kept one (--keep-data) must not see its rows.
            var subject = DemoIdentityNumbers.Child(Random.Shared.Next(0, 400_000));

            (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
            var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
            submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
            var messageId = body.GetProperty("messageId").GetGuid();

            var delivered = await WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered");
            delivered.GetProperty("basis").GetString().ShouldBe("consent");
            var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500", Ct);
            var item = inbox.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("messageId").GetGuid() == messageId);
            item.GetProperty("subjectId").GetString().ShouldBe(subject);
            item.GetProperty("sendingUnit").GetString().ShouldBe(DemoRequests.ChildHealthUnit);

            // Without a client certificate the gateway lets nothing in.
            using var anonymous = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            }) { BaseAddress = Gateway };
            var refused = await Record.ExceptionAsync(async () =>
            {
                var response = await anonymous.GetAsync(DemoRequests.InboxPath, Ct);
                response.IsSuccessStatusCode.ShouldBeFalse();
            });
            (refused is null or HttpRequestException).ShouldBeTrue(refused?.ToString());
        }
        finally
        {
            await RunAsync(root, "deploy/kube-down.sh", TimeSpan.FromMinutes(3));
        }
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient sender, string statusUrl, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var last = "nothing";
        while (DateTime.UtcNow < deadline)
        {
            var response = await sender.GetAsync(statusUrl, Ct);
            if (response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
                if (body.GetProperty("status").GetString() == status)
                {
                    return body;
                }
                last = body.GetProperty("status").GetString() ?? "null";
            }
            await Task.Delay(200, Ct);
        }
        throw new ShouldAssertException($"{statusUrl} did not reach {status}; last seen: {last}");
    }

    /// <summary>Debug or Release: the configuration this test, and so the services beside it, were built with.</summary>
    private static string BuildConfiguration =>
        typeof(KubePlayTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FamiljecentralHub.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No FamiljecentralHub.sln above {AppContext.BaseDirectory}.");
    }

    private static async Task RunAsync(string root, string script, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(root, script), .. arguments])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HUB_IMAGE_FROM_BUILD"] = BuildConfiguration;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancellation.CancelAfter(timeout);
        await process.WaitForExitAsync(cancellation.Token);
        TestContext.Current.SendDiagnosticMessage($"{script}: exit {process.ExitCode}\n{await output}\n{await error}");
        process.ExitCode.ShouldBe(0, $"{script} failed:\n{await output}\n{await error}");
    }
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class CallerTokenTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private readonly TempFolder folder = new();
    private readonly string privateKeyPath;
    private readonly string publicKeyPath;

    public CallerTokenTests() => (privateKeyPath, publicKeyPath) = WriteKeyPair("gateway");

    public void Dispose() => folder.Dispose();

    [Fact]
    public async Task Validate_FreshToken_YieldsClientAndUnits()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc", "solglantan-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeTrue(result.FailureReason);
        result.Principal!.Identity!.IsAuthenticated.ShouldBeTrue();
        result.Principal.ClientId().ShouldBe("bvc-ehr");
        result.Principal.Units().ShouldBe(["rosengard-bvc", "solglantan-bvc"]);
        result.Principal.ActsFor("solglantan-bvc").ShouldBeTrue();
        result.Principal.ActsFor("rosengard-mvc").ShouldBeFalse();
    }

    [Fact]
    public void Issue_AnyToken_HasExpectedHeaderAndClaims()
    {
        var time = new FixedTimeProvider(Now);
        var token = new CallerTokenIssuer(privateKeyPath, time).Issue("ops-console", [], "ops");

        var jwt = new JsonWebToken(token);
        jwt.Alg.ShouldBe("ES256");
        jwt.Issuer.ShouldBe("familjecentralhub-gateway");
        jwt.Audiences.ShouldBe(["ops"]);
        jwt.Subject.ShouldBe("ops-console");
        jwt.Id.ShouldNotBeNullOrEmpty();
        jwt.ValidTo.ShouldBe(Now.UtcDateTime.AddSeconds(60));
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))!;
        payload["units"].ShouldBeOfType<JsonArray>().ShouldBeEmpty();
    }

    [Fact]
    public async Task Validate_ExpiredToken_IsRejected()
    {
        // Issued 70 s ago: expired 10 s ago, beyond the 5 s clock skew.
        var issuedAt = new FixedTimeProvider(DateTimeOffset.UtcNow.AddSeconds(-70));
        var token = new CallerTokenIssuer(privateKeyPath, issuedAt).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenExpiredException));
    }

    [Fact]
    public async Task Validate_TokenForAnotherService_IsRejected()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "social-services").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenInvalidAudienceException));
    }

    [Fact]
    public async Task Validate_TokenSignedWithAnotherKey_IsRejected()
    {
        var (otherPrivateKeyPath, _) = WriteKeyPair("impostor");
        var token = new CallerTokenIssuer(otherPrivateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldNotBeNull().ShouldContain("Signature");
    }

    [Fact]
    public async Task Validate_TamperedPayload_IsRejected()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        payload["units"] = new JsonArray("rosengard-bvc", "rosengard-socialtjanst");
        var tampered = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()))}.{parts[2]}";

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(tampered);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldNotBeNull().ShouldContain("Signature");
    }

    [Fact]
    public async Task Validate_UnsignedToken_IsRejected()
    {
        var header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = CallerTokenDefaults.Issuer, ["aud"] = "child-health", ["sub"] = "bvc-ehr",
            ["units"] = new[] { "rosengard-bvc" }, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 60,
        })));

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync($"{header}.{payload}.");

        result.IsValid.ShouldBeFalse();
    }

    [Fact]
    public async Task Validate_RightKeyButWrongIssuer_IsRejected()
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(privateKeyPath, TestContext.Current.CancellationToken));
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "someone-else",
            Audience = "child-health",
            Expires = DateTime.UtcNow.AddSeconds(60),
            Claims = new Dictionary<string, object> { ["sub"] = "bvc-ehr" },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
        });

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenInvalidIssuerException));
    }

    [Fact]
    public void Issue_SameClientAndAudienceWithinHalfLifetime_ReusesToken()
    {
        var time = new FixedTimeProvider(Now);
        var issuer = new CallerTokenIssuer(privateKeyPath, time);
        var first = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        time.Now = Now.AddSeconds(29);
        issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health").ShouldBe(first);
        issuer.Issue("bvc-ehr", ["rosengard-bvc"], "consent").ShouldNotBe(first);
        issuer.Issue("mvc-ehr", ["rosengard-bvc"], "child-health").ShouldNotBe(first);
        issuer.Issue("bvc-ehr", ["solglantan-bvc"], "child-health").ShouldNotBe(first);

        time.Now = Now.AddSeconds(31);
        var renewed = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health");
        renewed.ShouldNotBe(first);
        new JsonWebToken(renewed).ValidTo.ShouldBe(Now.UtcDateTime.AddSeconds(91));
    }

    [Fact]
    public void Create_IssuerWithPublicKeyOnly_Throws()
    {
        Should.Throw<CryptographicException>(() => new CallerTokenIssuer(publicKeyPath));
    }

    private (string PrivateKeyPath, string PublicKeyPath) WriteKeyPair(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePath = Path.Combine(folder.Path, $"{name}.key");
        var publicPath = Path.Combine(folder.Path, $"{name}.pub.pem");
        File.WriteAllText(privatePath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        return (privatePath, publicPath);
    }
}

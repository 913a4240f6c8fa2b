using FamiljecentralHub.ServiceDefaults.Configuration;
using Microsoft.AspNetCore.Builder;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>Secrets from a directory of files, one per setting, as a Kubernetes Secret volume mounts them.</summary>
public sealed class SecretFilesTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("hub-secrets-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void AddSecretFiles_ADirectoryOfFiles_GivesEachFileAsTheSettingItIsNamedFor()
    {
        File.WriteAllText(Path.Combine(directory, "RabbitMq__Password"), "s3cret\n");
        File.WriteAllText(Path.Combine(directory, "ConnectionStrings__Database"), "Host=127.0.0.1;Password=p");

        var builder = WebApplication.CreateBuilder([$"--SecretsDirectory={directory}", "--RabbitMq:Password=from-the-command-line"]).AddSecretFiles();

        builder.Configuration["RabbitMq:Password"].ShouldBe("s3cret", "the file wins, and its final line break is not part of the secret");
        builder.Configuration["ConnectionStrings:Database"].ShouldBe("Host=127.0.0.1;Password=p");
    }

    [Fact]
    public void AddSecretFiles_NoDirectoryNamed_ChangesNothing()
    {
        var builder = WebApplication.CreateBuilder(["--RabbitMq:Password=from-the-command-line"]).AddSecretFiles();

        builder.Configuration["RabbitMq:Password"].ShouldBe("from-the-command-line");
    }

    [Fact]
    public void AddSecretFiles_ANamedDirectoryThatIsMissing_StopsTheStart()
    {
        var builder = WebApplication.CreateBuilder([$"--SecretsDirectory={Path.Combine(directory, "missing")}"]);

        Should.Throw<Exception>(() => builder.AddSecretFiles());
    }
}

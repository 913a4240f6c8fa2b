using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace FamiljecentralHub.ServiceDefaults.Configuration;

/// <summary>
/// Secrets read from files as well as from environment variables: a Kubernetes Secret volume, or a directory readable by
/// the process's user alone, holds one secret per file, named as the environment variable would be
/// (<c>RabbitMq__Password</c>, <c>ConnectionStrings__Database</c>, <c>Pseudonym__Key</c>), its content the value (a final
/// line break is dropped). An environment is visible to whoever can read the process's <c>/proc/&lt;pid&gt;/environ</c>
/// and is inherited by every child process; a file is not. The directory is named by the <c>SecretsDirectory</c> setting
/// (environment variable <c>SecretsDirectory</c>); a file there wins over the same setting from the environment. A named
/// directory that does not exist stops the process at start, rather than leaving it without its secrets.
/// </summary>
public static class SecretFiles
{
    public const string DirectorySetting = "SecretsDirectory";

    public static TBuilder AddSecretFiles<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Configuration[DirectorySetting] is { Length: > 0 } directory)
        {
            builder.Configuration.AddKeyPerFile(directory, optional: false, reloadOnChange: false);
        }

        return builder;
    }
}

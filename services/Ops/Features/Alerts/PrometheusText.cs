using System.Globalization;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>One sample of Prometheus' text exposition format: a metric name, its labels and its value.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// Just enough of the text exposition format (version 0.0.4) to read a few of the hub's own gauges from a service's
/// <c>/metrics</c>: comment lines skipped, <c>name{label="value",…} value [timestamp]</c>, label values unescaped.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<Sample> Parse(string text, Func<string, bool>? wanted = null)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny([' ', '{']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd];
            if (wanted is not null && !wanted(name))
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var position = nameEnd;
            if (line[position] == '{' && !TryReadLabels(line, ref position, labels))
            {
                continue;
            }

            var value = line[position..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (value is not null && TryParseValue(value, out var number))
            {
                samples.Add(new Sample(name, labels, number));
            }
        }

        return samples;
    }

    private static bool TryReadLabels(string line, ref int position, Dictionary<string, string> labels)
    {
        position++; // past '{'
        while (position < line.Length)
        {
            if (line[position] == '}')
            {
                position++;
                return true;
            }

            if (line[position] is ',' or ' ')
            {
                position++;
                continue;
            }

            var equals = line.IndexOf('=', position);
            if (equals < 0 || equals + 1 >= line.Length || line[equals + 1] != '"')
            {
                return false;
            }

            var label = line[position..equals];
            var value = new System.Text.StringBuilder();
            var i = equals + 2;
            for (; i < line.Length && line[i] != '"'; i++)
            {
                if (line[i] == '\\' && i + 1 < line.Length)
                {
                    i++;
                    value.Append(line[i] switch { 'n' => '\n', var c => c });
                }
                else
                {
                    value.Append(line[i]);
                }
            }

            if (i >= line.Length)
            {
                return false;
            }

            labels[label] = value.ToString();
            position = i + 1;
        }

        return false;
    }

    private static bool TryParseValue(string value, out double number)
    {
        switch (value)
        {
            case "+Inf":
                number = double.PositiveInfinity;
                return true;
            case "-Inf":
                number = double.NegativeInfinity;
                return true;
            case "NaN":
                number = double.NaN;
                return true;
            default:
                return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
        }
    }
}

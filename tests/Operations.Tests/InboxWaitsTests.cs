using FamiljecentralHub.Operations.Inbox;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>
/// The places to wait of one instance: a bound for all (each waiting listing holds a gateway connection) and a share per
/// unit, so that one receiving system cannot take them all. A place is given back when its listing ends.
/// </summary>
public sealed class InboxWaitsTests
{
    [Fact]
    public void TryEnter_HoldsBothTheBoundForAllAndTheShareOfEachUnit()
    {
        var waits = new InboxWaits(Options.Create(new InboxWaitOptions { MaxWaiting = 3, MaxWaitingPerUnit = 2 }));

        waits.TryEnter("a").ShouldBeTrue();
        waits.TryEnter("a").ShouldBeTrue();
        waits.TryEnter("a").ShouldBeFalse("past the unit's share");
        waits.TryEnter("b").ShouldBeTrue();
        waits.TryEnter("b").ShouldBeFalse("past the bound for all, though within b's share");

        waits.Leave("a");
        waits.TryEnter("b").ShouldBeTrue("a place given back is taken again");
        waits.TryEnter("a").ShouldBeFalse();
    }
}

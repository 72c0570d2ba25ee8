using System.Xml.Linq;

namespace Dataplane.Tests.Cni;

/// <summary>
/// The plugin's project stays what a runtime needs: a NativeAOT executable named dataplane-cni that references only
/// the wire records (Host and Core would bring the whole daemon into a binary run on every pod start).
/// </summary>
[Trait("Category", "unit")]
public sealed class CniProjectTests
{
    private static XElement Project()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Dataplane.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return XElement.Load(Path.Combine(directory.FullName, "src", "Dataplane.Cni", "Dataplane.Cni.csproj"));
    }

    [Fact]
    public void The_plugin_is_published_ahead_of_time_as_dataplane_cni()
    {
        XElement project = Project();

        Assert.Equal("true", project.Descendants("PublishAot").Single().Value);
        Assert.Equal("true", project.Descendants("InvariantGlobalization").Single().Value);
        Assert.Equal("dataplane-cni", project.Descendants("AssemblyName").Single().Value);
        Assert.Equal("Exe", project.Descendants("OutputType").Single().Value);
    }

    [Fact]
    public void The_plugin_references_only_the_protocol_project_and_no_packages()
    {
        XElement project = Project();

        Assert.Equal(["../Dataplane.Protocol/Dataplane.Protocol.csproj"], project.Descendants("ProjectReference").Select(static r => (string)r.Attribute("Include")!));
        Assert.Empty(project.Descendants("PackageReference"));
    }
}

using Dataplane.Cli.Commands;

System.CommandLine.ParseResult parse = DataplaneCli.Create().Parse(args);
return IngressCommand.RefuseParseErrors(parse, Console.Error) ?? parse.Invoke();

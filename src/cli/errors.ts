/** The lines that tell a user why a command failed: the error's message, then each cause in its chain that adds something. */
export function errorLines(err: unknown): string[] {
  const lines = [`kvs-parser: ${messageOf(err)}`];
  const seen = new Set<unknown>([err]);
  let said = messageOf(err);
  for (let cause = causeOf(err); cause !== undefined && !seen.has(cause); cause = causeOf(cause)) {
    seen.add(cause);
    const text = messageOf(cause);
    const name = cause instanceof Error && cause.name !== "Error" ? `${cause.name}: ` : "";
    if (!said.includes(text)) lines.push(`  caused by ${name}${text}`);
    said += `\n${text}`;
  }
  return lines;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function causeOf(err: unknown): unknown {
  return err instanceof Error ? err.cause : undefined;
}

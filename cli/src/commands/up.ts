export async function upCommand(_argv: string[]): Promise<number> {
  throw new Error('not yet');
}

/**
 * Copies `text` to the clipboard; where the page has no clipboard access
 * (insecure origin, permission denied) shows it in a prompt so the person can
 * copy it by hand. Resolves `true` when the clipboard took it.
 */
export async function copyText(text: string, promptMessage: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    window.prompt(promptMessage, text);
    return false;
  }
}

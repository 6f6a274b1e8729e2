const KEY = 'cryptolake.theme';

/** The page's theme: the remembered choice, else the system's preference. */
export function currentTheme(): 'dark' | 'light' {
  const saved = localStorage.getItem(KEY);
  if (saved === 'dark' || saved === 'light') return saved;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

/** Applies the theme to <html data-theme> and wires the toggle button; `onChange` repaints what CSS cannot. */
export function setUpTheme(button: HTMLButtonElement, onChange: () => void): void {
  const apply = (theme: 'dark' | 'light') => {
    document.documentElement.dataset.theme = theme;
    button.textContent = theme === 'dark' ? '☀ Light' : '☾ Dark';
    button.setAttribute('aria-label', `Switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`);
    onChange();
  };
  apply(currentTheme());
  button.addEventListener('click', () => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    localStorage.setItem(KEY, next);
    apply(next);
  });
  matchMedia('(prefers-color-scheme: light)').addEventListener('change', () => {
    if (!localStorage.getItem(KEY)) apply(currentTheme());
  });
}

/**
 * PrimeVue (styled mode) with its Aura preset, made quieter and accessible: indigo as the primary colour at shades
 * dark enough for white text (WCAG AA contrast, which axe-core checks in the browser tests), light scheme only.
 */
import type { App } from 'vue';
import PrimeVue from 'primevue/config';
import ConfirmationService from 'primevue/confirmationservice';
import ToastService from 'primevue/toastservice';
import Tooltip from 'primevue/tooltip';
import Aura from '@primeuix/themes/aura';
import { definePreset } from '@primeuix/themes';

/**
 * Aura's coloured buttons use the 500 shades, under 4.5:1 against white; the 700 shades (800, 900 for hover and
 * press) pass, filled or outlined or text (secondary's outlined and text labels too: surface 500 → 700).
 */
const severityButtons = Object.fromEntries(
  (
    [
      ['info', 'sky'],
      ['success', 'green'],
      ['warn', 'orange'],
      ['help', 'purple'],
      ['danger', 'red'],
    ] as const
  ).map(([severity, colour]) => [
    severity,
    {
      background: `{${colour}.700}`,
      hoverBackground: `{${colour}.800}`,
      activeBackground: `{${colour}.900}`,
      borderColor: `{${colour}.700}`,
      hoverBorderColor: `{${colour}.800}`,
      activeBorderColor: `{${colour}.900}`,
      focusRing: { color: `{${colour}.700}`, shadow: 'none' },
    },
  ]),
);
const severityText = (border: boolean) =>
  Object.fromEntries(
    ['sky', 'green', 'orange', 'purple', 'red', 'surface'].map((colour, i) => [
      ['info', 'success', 'warn', 'help', 'danger', 'secondary'][i],
      { color: `{${colour}.700}`, ...(border ? { borderColor: `{${colour}.300}` } : {}) },
    ]),
  );

const Meridian = definePreset(Aura, {
  components: {
    button: {
      colorScheme: {
        light: { root: severityButtons, outlined: severityText(true), text: severityText(false) },
      },
    },
  },
  semantic: {
    primary: Object.fromEntries(
      [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 950].map((shade) => [shade, `{indigo.${shade}}`]),
    ),
    colorScheme: {
      light: {
        primary: {
          color: '{primary.700}',
          contrastColor: '#ffffff',
          hoverColor: '{primary.800}',
          activeColor: '{primary.900}',
        },
        highlight: {
          background: '{primary.50}',
          focusBackground: '{primary.100}',
          color: '{primary.800}',
          focusColor: '{primary.900}',
        },
        // Aura's muted text (slate 500) is under 4.5:1 on the page's grey; one shade darker passes.
        text: { mutedColor: '{surface.600}', hoverMutedColor: '{surface.700}' },
        formField: { placeholderColor: '{surface.600}', floatLabelColor: '{surface.600}' },
      },
    },
  },
});

/** Installs the component library and the services the console's toasts and confirmations use. */
export function installUi(app: App): void {
  app.use(PrimeVue, {
    theme: {
      preset: Meridian,
      // A class the console never sets: the operator's OS dark mode does not switch the palette half-way.
      options: { darkModeSelector: '.meridian-dark' },
    },
  });
  app.use(ToastService);
  app.use(ConfirmationService);
  app.directive('tooltip', Tooltip);
}

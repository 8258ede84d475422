import { createRouter, createWebHistory } from 'vue-router';
import { session } from './session';
import LoginView from './views/LoginView.vue';
import OverviewView from './views/OverviewView.vue';
import MerchantsView from './views/MerchantsView.vue';
import PaymentsView from './views/PaymentsView.vue';
import PaymentDetailView from './views/PaymentDetailView.vue';
import PayerView from './views/PayerView.vue';
import BookingView from './views/BookingView.vue';
import AppointmentDetailView from './views/AppointmentDetailView.vue';
import BookView from './views/BookView.vue';
import MonitorsView from './views/MonitorsView.vue';
import MonitorDetailView from './views/MonitorDetailView.vue';
import DiagnosisView from './views/DiagnosisView.vue';
import DiagnosisSessionView from './views/DiagnosisSessionView.vue';
import DiagnoseView from './views/DiagnoseView.vue';
import CotView from './views/CotView.vue';
import CotMarketView from './views/CotMarketView.vue';

/** The business areas, as the navigation and the overview list them. */
export const areas = [
  {
    path: '/payments',
    title: 'Payments',
    blurb: 'Payment intents, their state timelines and webhook deliveries.',
    component: PaymentsView,
  },
  {
    path: '/monitors',
    title: 'Price monitors',
    blurb: 'Scheduled price checks, price history and alerts.',
    component: MonitorsView,
  },
  {
    path: '/cot',
    title: 'COT data',
    blurb: 'Weekly CFTC Commitments of Traders: screener, markets and ingestion runs.',
    component: CotView,
  },
  { path: '/diagnosis', title: 'Diagnosis', blurb: 'AI diagnosis sessions with car owners.', component: DiagnosisView },
  {
    path: '/booking',
    title: 'Booking',
    blurb: 'Workshops, mechanics, slots and appointments.',
    component: BookingView,
  },
];

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: LoginView, meta: { public: true } },
    { path: '/pay/:token', component: PayerView, props: true, meta: { public: true } },
    { path: '/book/:workshopId', component: BookView, props: true, meta: { public: true } },
    { path: '/payments/:id', component: PaymentDetailView, props: true },
    { path: '/booking/appointments/:id', component: AppointmentDetailView, props: true },
    { path: '/monitors/:id', component: MonitorDetailView, props: true },
    { path: '/diagnosis/:id', component: DiagnosisSessionView, props: true },
    { path: '/cot/:type/:subtype/:code', component: CotMarketView, props: true },
    { path: '/diagnose', component: DiagnoseView, meta: { public: true } },
    { path: '/', component: OverviewView },
    { path: '/merchants', component: MerchantsView },
    ...areas.map(({ path, component }) => ({ path, component })),
    { path: '/:rest(.*)', redirect: '/' },
  ],
});

router.beforeEach((to) => {
  if (!to.meta.public && !session.token) return { path: '/login', query: { next: to.fullPath } };
});
